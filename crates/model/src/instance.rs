//! Instance validation: whether a JSON value conforms to a resolved [`Schema`], following the `dtmm:instance` rules of the DTDL metamodel and the way Azure Digital Twins applies them to property values.
//!
//! This file owns the value rules of every schema kind: the JSON type and range of each primitive, the lexical and calendar checks of dates, times and durations, enum membership, the shape of arrays, maps and objects, and the GeoJSON geometry of the geospatial schemas.
//! It does not resolve schemas or look anything up in a model set (the caller hands it a resolved tree), it does not decide whether a violation is fatal or how it becomes a diagnostic, and it does not check which properties a twin must or may have.
//! The lexical checks are small hand-written scanners that follow the metamodel's patterns; there is no regex engine here.

use serde_json::{Number, Value};

use crate::schema::{ArraySchema, EnumLiteral, EnumSchema, Geospatial, MapSchema, ObjectSchema, Primitive, Schema};

/// One way in which a value fails to conform to its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where the offending part sits inside the validated value, as an RFC 6901 JSON pointer (`~` and `/` in member names are escaped as `~0` and `~1`); `""` is the validated value itself.
    pub pointer: String,
    /// What is wrong, as one sentence fit to show to the person who sent the value.
    pub message: String,
}

/// Checks that `value` is an instance of `schema` and returns every violation found, in document order; an empty vector means the value conforms.
///
/// At most 100 violations are returned: a badly wrong value (say a long array of strings where numbers belong) stops being examined once that many are found, so the cost of reporting stays bounded.
/// The walk follows the schema, never the value alone, so its depth is bounded by the schema's depth (DTDL caps complex schema nesting) plus the fixed nesting of GeoJSON coordinates.
///
/// The rules, where the specifications leave room:
/// - `null` conforms to no schema; a value that is absent is expressed by leaving the member out.
/// - `integer` and `long` accept any JSON number whose value is integral and in range, so `3.0` and `1e2` are integers (the metamodel types the JSON number as `xsd:int` / `xsd:long`, which constrains the value, not the spelling).
///   `3.5`, `2147483648` (for `integer`) and `9223372036854775808` (for `long`) are not.
///   The number checked is the one serde_json parsed: without its `arbitrary_precision` feature, an integer below `i64::MIN` or above `u64::MAX`, or a decimal with more than about 17 significant digits, has already been rounded to an `f64` (so `-9223372036854775809` reads as a valid `long`).
/// - `double` accepts any JSON number. `float` accepts a number that rounds to a finite `f32`, so magnitudes up to 3.4028235e38 pass; tiny magnitudes that round to zero pass too, because `float` promises a range, not a precision.
/// - `date`, `time` and `dateTime` follow the metamodel patterns exactly, which are stricter than RFC 3339: the `T` separator and the `Z` designator must be uppercase, and a time zone offset is required.
///   On top of the pattern, the date must exist in the proleptic Gregorian calendar (year `0000` included, as RFC 3339 allows), hours are 00-23, minutes 00-59, seconds 00-60 (60 is a leap second, accepted at any minute because validating it needs a leap second table), and offsets are at most 23:59.
/// - `duration` follows the metamodel pattern: components in the order Y, M, D, then `T` and H, M, S; weeks (W) may be followed by days and a time part but not combined with years or months; only the last component may have a fraction; `P` and a trailing `T` alone are not durations.
///   Digits are ASCII digits only, and nothing (not even a newline) may follow the last component.
/// - Map keys may be any string: the metamodel constrains only the values of a map instance; the naming rule of `MapKey` applies to the name of the key in the model, not to the keys of an instance.
/// - Objects may be partial (Azure Digital Twins allows it), but every member must be named like a field of the schema.
/// - Geospatial values are RFC 7946 geometry objects: `bbox` is allowed (and checked to be 4 or 6 numbers) and foreign members are allowed and ignored.
///   A position has 2 or 3 numbers; longitude and latitude ranges and ring winding order are not checked, since RFC 7946 does not require parsers to reject them.
///   Empty coordinate arrays are accepted for the multi-geometries (RFC 7946 allows empty geometries), but a Polygon needs its exterior ring.
pub fn validate(schema: &Schema, value: &Value) -> Vec<Violation> {
    let mut validator = Validator { pointer: String::new(), violations: Vec::new() };
    validator.schema(schema, value);
    validator.violations
}

/// Validation stops looking once it has this many violations.
const VIOLATIONS_MAX: usize = 100;
/// Strings quoted in messages are cut after this many characters, so one huge value cannot bloat every report that mentions it.
const QUOTED_CHARS_MAX: usize = 64;
/// Lists in messages (fields, enum values) name at most this many items.
const LISTED_MAX: usize = 20;

const INTEGER_MIN: i64 = i32::MIN as i64;
const INTEGER_MAX: i64 = i32::MAX as i64;

/// The walk's state: the pointer of the part being checked, kept as one buffer that grows and shrinks with the walk, and the violations so far.
struct Validator {
    pointer: String,
    violations: Vec<Violation>,
}

impl Validator {
    fn is_full(&self) -> bool {
        self.violations.len() >= VIOLATIONS_MAX
    }

    fn report(&mut self, message: String) {
        if !self.is_full() {
            self.violations.push(Violation { pointer: self.pointer.clone(), message });
        }
    }

    /// Runs `check` with the pointer extended by the member name `key`.
    fn at_key(&mut self, key: &str, check: impl FnOnce(&mut Self)) {
        let len = self.pointer.len();
        self.pointer.push('/');
        for c in key.chars() {
            match c {
                '~' => self.pointer.push_str("~0"),
                '/' => self.pointer.push_str("~1"),
                c => self.pointer.push(c),
            }
        }
        check(self);
        self.pointer.truncate(len);
    }

    /// Runs `check` with the pointer extended by the array index `index`.
    fn at_index(&mut self, index: usize, check: impl FnOnce(&mut Self)) {
        let len = self.pointer.len();
        self.pointer.push('/');
        self.pointer.push_str(&index.to_string());
        check(self);
        self.pointer.truncate(len);
    }

    fn schema(&mut self, schema: &Schema, value: &Value) {
        if self.is_full() {
            return;
        }
        match schema {
            Schema::Primitive(primitive) => {
                if let Some(message) = primitive_problem(*primitive, value) {
                    self.report(message);
                }
            }
            Schema::Geospatial(kind) => self.geospatial(*kind, value),
            Schema::Array(array) => self.array(array, value),
            Schema::Enum(enumeration) => self.enumeration(enumeration, value),
            Schema::Map(map) => self.map(map, value),
            Schema::Object(object) => self.object(object, value),
        }
    }

    fn array(&mut self, schema: &ArraySchema, value: &Value) {
        let Value::Array(items) = value else {
            self.report(format!("expected an array, found {}", found(value)));
            return;
        };
        for (index, item) in items.iter().enumerate() {
            if self.is_full() {
                break;
            }
            self.at_index(index, |v| v.schema(&schema.element, item));
        }
    }

    fn enumeration(&mut self, schema: &EnumSchema, value: &Value) {
        if schema.values.iter().any(|v| literal_matches(&v.value, value)) {
            return;
        }
        if schema.values.is_empty() {
            self.report(format!("the enum has no values, so nothing conforms to it; found {}", found(value)));
            return;
        }
        let values = listed(schema.values.iter().map(|v| {
            let literal = match &v.value {
                EnumLiteral::Integer(i) => i.to_string(),
                EnumLiteral::String(s) => json_string(s),
            };
            format!("{literal} ({})", v.name)
        }));
        self.report(format!("expected one of the enum values {values}, found {}", found(value)));
    }

    fn map(&mut self, schema: &MapSchema, value: &Value) {
        let Value::Object(members) = value else {
            self.report(format!(
                "expected a map (an object from {} to {}), found {}",
                schema.key_name,
                schema.value_name,
                found(value)
            ));
            return;
        };
        for (key, member) in members {
            if self.is_full() {
                break;
            }
            self.at_key(key, |v| v.schema(&schema.value, member));
        }
    }

    fn object(&mut self, schema: &ObjectSchema, value: &Value) {
        let Value::Object(members) = value else {
            self.report(format!("expected an object, found {}", found(value)));
            return;
        };
        for (name, member) in members {
            if self.is_full() {
                break;
            }
            match schema.fields.iter().find(|f| f.name == *name) {
                Some(field) => self.at_key(name, |v| v.schema(&field.schema, member)),
                None => {
                    let message = if schema.fields.is_empty() {
                        format!("no field named {} in the object schema, which has no fields", quoted(name))
                    } else {
                        let fields = listed(schema.fields.iter().map(|f| f.name.clone()));
                        format!("no field named {} in the object schema; fields are: {fields}", quoted(name))
                    };
                    self.at_key(name, |v| v.report(message));
                }
            }
        }
    }

    fn geospatial(&mut self, kind: Geospatial, value: &Value) {
        let geojson_type = kind.geojson_type();
        let Value::Object(members) = value else {
            self.report(format!("expected a GeoJSON {geojson_type} object, found {}", found(value)));
            return;
        };
        // A wrong or missing type makes every coordinate complaint a guess, so it is the only thing reported.
        match members.get("type") {
            Some(Value::String(t)) if t == geojson_type => {}
            Some(other) => {
                self.at_key("type", |v| v.report(format!("expected \"{geojson_type}\", found {}", found(other))));
                return;
            }
            None => {
                self.report(format!(
                    "missing member 'type'; a GeoJSON {geojson_type} has \"type\": \"{geojson_type}\""
                ));
                return;
            }
        }
        if let Some(bbox) = members.get("bbox") {
            self.at_key("bbox", |v| v.bbox(bbox));
        }
        let Some(coordinates) = members.get("coordinates") else {
            self.report("missing member 'coordinates'".to_owned());
            return;
        };
        self.at_key("coordinates", |v| match kind {
            Geospatial::Point => v.position(coordinates),
            Geospatial::MultiPoint => {
                v.array_of(coordinates, "an array of positions", Self::position);
            }
            Geospatial::LineString => v.line(coordinates),
            Geospatial::MultiLineString => {
                v.array_of(coordinates, "an array of LineString coordinate arrays", Self::line);
            }
            Geospatial::Polygon => v.polygon(coordinates),
            Geospatial::MultiPolygon => {
                v.array_of(coordinates, "an array of Polygon coordinate arrays", Self::polygon);
            }
        });
    }

    /// Checks that `value` is an array described as `what` and runs `item` on each element; returns the elements so the caller can check their count.
    fn array_of<'v>(&mut self, value: &'v Value, what: &str, item: fn(&mut Self, &Value)) -> Option<&'v [Value]> {
        let Value::Array(items) = value else {
            self.report(format!("expected {what}, found {}", found(value)));
            return None;
        };
        for (index, element) in items.iter().enumerate() {
            if self.is_full() {
                break;
            }
            self.at_index(index, |v| item(v, element));
        }
        Some(items)
    }

    fn numbers(&mut self, numbers: &[Value]) {
        for (index, number) in numbers.iter().enumerate() {
            if !number.as_f64().is_some_and(f64::is_finite) {
                self.at_index(index, |v| v.report(format!("expected a number, found {}", found(number))));
            }
        }
    }

    fn position(&mut self, value: &Value) {
        let Value::Array(numbers) = value else {
            self.report(format!(
                "expected a position (an array of longitude, latitude and optional altitude), found {}",
                found(value)
            ));
            return;
        };
        if !(2..=3).contains(&numbers.len()) {
            self.report(format!(
                "a position has 2 or 3 numbers (longitude, latitude and optional altitude), found {}",
                numbers.len()
            ));
        }
        self.numbers(numbers);
    }

    fn bbox(&mut self, value: &Value) {
        let Value::Array(numbers) = value else {
            self.report(format!("expected a bbox (an array of 4 or 6 numbers), found {}", found(value)));
            return;
        };
        if numbers.len() != 4 && numbers.len() != 6 {
            self.report(format!("a bbox has 4 or 6 numbers, found {}", numbers.len()));
        }
        self.numbers(numbers);
    }

    fn line(&mut self, value: &Value) {
        if let Some(positions) = self.array_of(value, "an array of positions", Self::position)
            && positions.len() < 2
        {
            self.report(format!("a LineString needs at least 2 positions, found {}", positions.len()));
        }
    }

    fn ring(&mut self, value: &Value) {
        let Some(positions) = self.array_of(value, "a linear ring (an array of positions)", Self::position) else {
            return;
        };
        if positions.len() < 4 {
            self.report(format!("a linear ring needs at least 4 positions, found {}", positions.len()));
            return;
        }
        // A malformed end position has been reported already; comparing it would only add noise.
        if let (Some(first), Some(last)) = (positions.first(), positions.last())
            && let (Some(a), Some(b)) = (position_numbers(first), position_numbers(last))
            && a != b
        {
            self.report(format!(
                "a linear ring must end where it starts: the first position is {first} and the last is {last}"
            ));
        }
    }

    fn polygon(&mut self, value: &Value) {
        if let Some(rings) = self.array_of(value, "an array of linear rings", Self::ring)
            && rings.is_empty()
        {
            self.report("a Polygon needs at least one linear ring (its exterior)".to_owned());
        }
    }
}

/// The message for a value that is not an instance of `primitive`, if it is not.
fn primitive_problem(primitive: Primitive, value: &Value) -> Option<String> {
    let conforms = match (primitive, value) {
        (Primitive::Boolean, Value::Bool(_)) | (Primitive::String, Value::String(_)) => true,
        (Primitive::Integer, Value::Number(n)) => {
            integral_value(n).is_some_and(|i| in_range(i, INTEGER_MIN, INTEGER_MAX))
        }
        (Primitive::Long, Value::Number(n)) => integral_value(n).is_some_and(|i| in_range(i, i64::MIN, i64::MAX)),
        (Primitive::Double, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
        // The cast rounds to the nearest `f32` and gives infinity past the largest one, which is how a JSON number is read as a float.
        (Primitive::Float, Value::Number(n)) => n.as_f64().is_some_and(|f| (f as f32).is_finite()),
        (Primitive::Date | Primitive::DateTime | Primitive::Time | Primitive::Duration, Value::String(text)) => {
            let bytes = text.as_bytes();
            let (invalid, form) = match primitive {
                Primitive::Date => (date_invalid(bytes), "YYYY-MM-DD"),
                Primitive::Time => (time_invalid(bytes), "hh:mm:ss, an optional fraction, then Z or ±hh:mm"),
                Primitive::DateTime => {
                    (date_time_invalid(bytes), "YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm")
                }
                _ => (duration_invalid(text).map(Invalid::Reason), ""),
            };
            let reason = match invalid? {
                Invalid::Shape => format!("expected the form {form}"),
                Invalid::Reason(reason) => reason,
            };
            return Some(format!("{} is not a valid {}: {reason}", quoted(text), primitive.term()));
        }
        _ => false,
    };
    if conforms {
        return None;
    }
    let expected = match primitive {
        Primitive::Boolean => "a boolean",
        Primitive::String => "a string",
        Primitive::Integer => "an integer between -2147483648 and 2147483647",
        Primitive::Long => "an integer between -9223372036854775808 and 9223372036854775807",
        Primitive::Double => "a number",
        Primitive::Float => "a number between -3.4028235e38 and 3.4028235e38",
        Primitive::Date => "a date string",
        Primitive::Time => "a time string",
        Primitive::DateTime => "a dateTime string",
        Primitive::Duration => "a duration string",
    };
    Some(format!("expected {expected}, found {}", found(value)))
}

/// The exact value of an integral JSON number, whatever its spelling (`3`, `3.0`, `1e2`); `None` for a fraction.
fn integral_value(number: &Number) -> Option<i128> {
    if let Some(i) = number.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = number.as_u64() {
        return Some(u.into());
    }
    let f = number.as_f64()?;
    // Past 1e30 nothing fits any DTDL integer type, and below it the cast is exact for an integral value.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

fn in_range(value: i128, min: i64, max: i64) -> bool {
    (i128::from(min)..=i128::from(max)).contains(&value)
}

fn literal_matches(literal: &EnumLiteral, value: &Value) -> bool {
    match (literal, value) {
        (EnumLiteral::Integer(i), Value::Number(n)) => integral_value(n) == Some(i128::from(*i)),
        (EnumLiteral::String(s), Value::String(v)) => s == v,
        _ => false,
    }
}

/// The numbers of a well-formed position, for comparing the ends of a ring.
fn position_numbers(value: &Value) -> Option<Vec<f64>> {
    let numbers = value.as_array()?;
    if !(2..=3).contains(&numbers.len()) {
        return None;
    }
    numbers.iter().map(Value::as_f64).collect()
}

/// Why a date, time or dateTime text is not valid.
enum Invalid {
    /// The text does not match the metamodel pattern; the message names the expected form.
    Shape,
    /// The text has the right shape but something more specific is wrong.
    Reason(String),
}

/// Checks RFC 3339 full-date: the pattern `^[0-9]{4}-[0-9]{2}-[0-9]{2}$` and a day that exists.
fn date_invalid(bytes: &[u8]) -> Option<Invalid> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = bytes else {
        return Some(Invalid::Shape);
    };
    if ![y0, y1, y2, y3, m0, m1, d0, d1].iter().all(u8::is_ascii_digit) {
        return Some(Invalid::Shape);
    }
    let year = decimal(&[y0, y1, y2, y3]);
    let month = decimal(&[m0, m1]);
    let day = decimal(&[d0, d1]);
    let Some(month_name) = month.checked_sub(1).and_then(|m| MONTH_NAMES.get(m as usize)) else {
        return Some(Invalid::Reason(format!("month {month:02} does not exist")));
    };
    let days = days_in_month(year, month);
    if day == 0 {
        return Some(Invalid::Reason("day 00 does not exist".to_owned()));
    }
    if day > days {
        return Some(Invalid::Reason(format!("{month_name} {year:04} has {days} days")));
    }
    None
}

/// Checks RFC 3339 full-time: the pattern `^[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$` and fields in range.
fn time_invalid(bytes: &[u8]) -> Option<Invalid> {
    let &[h0, h1, b':', m0, m1, b':', s0, s1, ref rest @ ..] = bytes else {
        return Some(Invalid::Shape);
    };
    if ![h0, h1, m0, m1, s0, s1].iter().all(u8::is_ascii_digit) {
        return Some(Invalid::Shape);
    }
    let rest = match rest.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Some(Invalid::Shape);
            }
            &fraction[digits..]
        }
        None => rest,
    };
    let offset = match rest {
        b"Z" => None,
        b"z" => {
            return Some(Invalid::Reason("UTC must be written as an uppercase 'Z'".to_owned()));
        }
        b"" => {
            return Some(Invalid::Reason("a time zone offset (Z or ±hh:mm) is required".to_owned()));
        }
        &[b'+' | b'-', oh0, oh1, b':', om0, om1] if [oh0, oh1, om0, om1].iter().all(u8::is_ascii_digit) => {
            Some((decimal(&[oh0, oh1]), decimal(&[om0, om1])))
        }
        _ => return Some(Invalid::Shape),
    };
    let checks = [
        ("hour", decimal(&[h0, h1]), 23),
        ("minute", decimal(&[m0, m1]), 59),
        ("second", decimal(&[s0, s1]), 60),
        ("offset hour", offset.map_or(0, |o| o.0), 23),
        ("offset minute", offset.map_or(0, |o| o.1), 59),
    ];
    checks
        .into_iter()
        .find(|&(_, value, max)| value > max)
        .map(|(field, value, max)| Invalid::Reason(format!("{field} {value:02} is out of range (00-{max})")))
}

/// Checks a dateTime: a full-date, an uppercase `T`, and a full-time.
fn date_time_invalid(bytes: &[u8]) -> Option<Invalid> {
    let Some((date, rest)) = bytes.split_at_checked(10) else {
        return Some(Invalid::Shape);
    };
    let date_invalid = date_invalid(date);
    if matches!(date_invalid, Some(Invalid::Shape)) {
        return Some(Invalid::Shape);
    }
    let time = match rest.split_first() {
        Some((b'T', time)) => time,
        Some((b't', _)) => {
            return Some(Invalid::Reason("the date and time must be separated by an uppercase 'T'".to_owned()));
        }
        _ => return Some(Invalid::Shape),
    };
    date_invalid.or_else(|| time_invalid(time))
}

/// Checks an ISO 8601 duration against the metamodel pattern, returning the reason it fails.
///
/// The pattern, read as rules: after `P` come optional components in the order years, months, days (or weeks, then days), then optionally `T` and hours, minutes, seconds; at least one component, and at least one after `T`; each component is digits with a designator, and only the last component in the text may have a fraction.
fn duration_invalid(text: &str) -> Option<String> {
    let Some(rest) = text.strip_prefix('P') else {
        return Some("a duration starts with an uppercase 'P'".to_owned());
    };
    if rest.is_empty() {
        return Some("'P' must be followed by at least one component".to_owned());
    }
    let bytes = rest.as_bytes();
    let mut pos = 0;
    let mut in_time = false;
    let mut last_rank: Option<u8> = None;
    let mut weeks = false;
    let mut years_or_months = false;
    while pos < bytes.len() {
        if bytes[pos] == b'T' {
            if in_time {
                return Some("'T' appears more than once".to_owned());
            }
            in_time = true;
            last_rank = None;
            pos += 1;
            if pos == bytes.len() {
                return Some("'T' must be followed by hours, minutes or seconds".to_owned());
            }
            continue;
        }
        let digits = count_digits(&bytes[pos..]);
        if digits == 0 {
            return Some(format!("expected a number at {}", quoted(&rest[pos..])));
        }
        pos += digits;
        let fraction = bytes.get(pos) == Some(&b'.');
        if fraction {
            pos += 1;
            let digits = count_digits(&bytes[pos..]);
            if digits == 0 {
                return Some("a '.' must be followed by digits".to_owned());
            }
            pos += digits;
        }
        // Everything before `pos` is ASCII, so `pos` is a character boundary.
        let Some(designator) = rest[pos..].chars().next() else {
            return Some("the last number has no designator".to_owned());
        };
        pos += designator.len_utf8();
        let rank = match (in_time, designator) {
            (false, 'Y') | (true, 'H') => 0,
            (false | true, 'M') => 1,
            (false, 'W') | (true, 'S') => 2,
            (false, 'D') => 3,
            (false, 'H' | 'S') => return Some(format!("'{designator}' must come after 'T'")),
            (true, 'Y' | 'W' | 'D') => return Some(format!("'{designator}' must come before 'T'")),
            _ => {
                return Some(format!(
                    "{} is not a duration designator (Y, M, W, D, H, M or S)",
                    quoted_char(designator)
                ));
            }
        };
        if !in_time {
            match designator {
                'W' if years_or_months => {
                    return Some("weeks cannot be combined with years or months".to_owned());
                }
                'Y' | 'M' if weeks => {
                    return Some("weeks cannot be combined with years or months".to_owned());
                }
                'W' => weeks = true,
                'Y' | 'M' => years_or_months = true,
                _ => {}
            }
        }
        if last_rank.is_some_and(|last| last >= rank) {
            return Some("components must appear at most once each, in the order Y, M, D, T, H, M, S".to_owned());
        }
        last_rank = Some(rank);
        if fraction && pos != bytes.len() {
            return Some("only the last component may have a fraction".to_owned());
        }
    }
    None
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of ASCII digits; the caller has checked that they are digits.
fn decimal(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// How a value that did not fit is named after "found": scalars as JSON text, containers by kind.
fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => json_string(s),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A string as a JSON literal, cut after [`QUOTED_CHARS_MAX`] characters.
fn json_string(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS_MAX) {
        Some((end, _)) => format!("{}…", Value::String(text[..end].to_owned())),
        None => Value::String(text.to_owned()).to_string(),
    }
}

/// A name or text in single quotes, cut after [`QUOTED_CHARS_MAX`] characters, with control characters escaped so a message stays on one line.
fn quoted(text: &str) -> String {
    let mut out = String::from("'");
    for (index, c) in text.chars().enumerate() {
        if index == QUOTED_CHARS_MAX {
            out.push('…');
            break;
        }
        push_visible(&mut out, c);
    }
    out.push('\'');
    out
}

fn quoted_char(c: char) -> String {
    let mut out = String::from("'");
    push_visible(&mut out, c);
    out.push('\'');
    out
}

fn push_visible(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// Joins items with ", ", naming at most [`LISTED_MAX`] of them.
fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let mut out = items.take(LISTED_MAX).collect::<Vec<_>>().join(", ");
    if total > LISTED_MAX {
        out.push_str(&format!(" and {} more", total - LISTED_MAX));
    }
    out
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::Dtmi;
    use crate::schema::{EnumValue, Field};

    /// Validates the JSON text against the schema and renders each violation as `#pointer: message`, or `ok`.
    fn check(schema: &Schema, json_text: &str) -> String {
        let value: Value = serde_json::from_str(json_text).expect("test JSON is well-formed");
        let violations = validate(schema, &value);
        if violations.is_empty() {
            return "ok".to_owned();
        }
        // The pointer is shown with control characters escaped so that each violation stays on one line.
        violations
            .iter()
            .map(|v| format!("#{}: {}", v.pointer.escape_debug(), v.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs [`check`] on each JSON text and compares the lines `text => result` with the snapshot.
    fn check_each(schema: &Schema, json_texts: &[&str], expect: Expect) {
        let mut out = String::new();
        for text in json_texts {
            let result = check(schema, text);
            let mut lines = result.lines();
            out.push_str(&format!("{text} => {}\n", lines.next().unwrap_or_default()));
            for line in lines {
                out.push_str(&format!("    {line}\n"));
            }
        }
        expect.assert_eq(&out);
    }

    fn id(name: &str) -> Dtmi {
        Dtmi::parse(&format!("dtmi:test:{name};1")).expect("test DTMI is valid")
    }

    fn primitive(p: Primitive) -> Schema {
        Schema::Primitive(p)
    }

    fn array(element: Schema) -> Schema {
        Schema::Array(ArraySchema { id: id("array"), element: Box::new(element) })
    }

    fn map(value: Schema) -> Schema {
        Schema::Map(MapSchema {
            id: id("map"),
            key_name: "sensorName".to_owned(),
            value_name: "reading".to_owned(),
            value: Box::new(value),
        })
    }

    fn object(fields: Vec<(&str, Schema)>) -> Schema {
        Schema::Object(ObjectSchema {
            id: id("object"),
            fields: fields.into_iter().map(|(name, schema)| Field { name: name.to_owned(), schema }).collect(),
        })
    }

    fn integer_enum(values: &[(&str, i64)]) -> Schema {
        Schema::Enum(EnumSchema {
            id: id("intEnum"),
            value_schema: Primitive::Integer,
            values: values
                .iter()
                .map(|&(name, v)| EnumValue { name: name.to_owned(), value: EnumLiteral::Integer(v) })
                .collect(),
        })
    }

    fn string_enum(values: &[(&str, &str)]) -> Schema {
        Schema::Enum(EnumSchema {
            id: id("stringEnum"),
            value_schema: Primitive::String,
            values: values
                .iter()
                .map(|&(name, v)| EnumValue { name: name.to_owned(), value: EnumLiteral::String(v.to_owned()) })
                .collect(),
        })
    }

    #[test]
    fn boolean() {
        check_each(
            &primitive(Primitive::Boolean),
            &["true", "false", "\"true\"", "0", "null"],
            expect![[r#"
                true => ok
                false => ok
                "true" => #: expected a boolean, found "true"
                0 => #: expected a boolean, found 0
                null => #: expected a boolean, found null
            "#]],
        );
    }

    #[test]
    fn string() {
        check_each(
            &primitive(Primitive::String),
            &["\"\"", "\"héllo\"", "3", "[\"a\"]", "{}"],
            expect![[r#"
                "" => ok
                "héllo" => ok
                3 => #: expected a string, found 3
                ["a"] => #: expected a string, found an array
                {} => #: expected a string, found an object
            "#]],
        );
    }

    #[test]
    fn integer() {
        check_each(
            &primitive(Primitive::Integer),
            &[
                "3",
                "-2147483648",
                "2147483647",
                "2147483648",
                "-2147483649",
                "3.0",
                "1e2",
                "-0.0",
                "3.5",
                "1e300",
                "18446744073709551615",
                "\"3\"",
                "true",
                "null",
            ],
            expect![[r#"
                3 => ok
                -2147483648 => ok
                2147483647 => ok
                2147483648 => #: expected an integer between -2147483648 and 2147483647, found 2147483648
                -2147483649 => #: expected an integer between -2147483648 and 2147483647, found -2147483649
                3.0 => ok
                1e2 => ok
                -0.0 => ok
                3.5 => #: expected an integer between -2147483648 and 2147483647, found 3.5
                1e300 => #: expected an integer between -2147483648 and 2147483647, found 1e+300
                18446744073709551615 => #: expected an integer between -2147483648 and 2147483647, found 18446744073709551615
                "3" => #: expected an integer between -2147483648 and 2147483647, found "3"
                true => #: expected an integer between -2147483648 and 2147483647, found true
                null => #: expected an integer between -2147483648 and 2147483647, found null
            "#]],
        );
    }

    #[test]
    fn long() {
        check_each(
            &primitive(Primitive::Long),
            &[
                "9223372036854775807",
                "-9223372036854775808",
                "9223372036854775808",
                // serde_json (without `arbitrary_precision`) reads an integer below i64::MIN as the nearest f64,
                // which is exactly -2^63, so this out-of-range value is accepted: the validator only sees the parsed number.
                "-9223372036854775809",
                "9.2e18",
                "9.3e18",
                "-9.3e18",
                "4e15",
                "1.5",
            ],
            expect![[r#"
                9223372036854775807 => ok
                -9223372036854775808 => ok
                9223372036854775808 => #: expected an integer between -9223372036854775808 and 9223372036854775807, found 9223372036854775808
                -9223372036854775809 => ok
                9.2e18 => ok
                9.3e18 => #: expected an integer between -9223372036854775808 and 9223372036854775807, found 9.3e+18
                -9.3e18 => #: expected an integer between -9223372036854775808 and 9223372036854775807, found -9.3e+18
                4e15 => ok
                1.5 => #: expected an integer between -9223372036854775808 and 9223372036854775807, found 1.5
            "#]],
        );
    }

    #[test]
    fn double() {
        check_each(
            &primitive(Primitive::Double),
            &["0", "-1.5", "1.7976931348623157e308", "18446744073709551615", "\"1.5\""],
            expect![[r#"
                0 => ok
                -1.5 => ok
                1.7976931348623157e308 => ok
                18446744073709551615 => ok
                "1.5" => #: expected a number, found "1.5"
            "#]],
        );
    }

    #[test]
    fn float() {
        check_each(
            &primitive(Primitive::Float),
            &["1.5", "3.4028235e38", "-3.4028235e38", "3.5e38", "-3.5e38", "1e-50", "\"1.5\""],
            expect![[r#"
                1.5 => ok
                3.4028235e38 => ok
                -3.4028235e38 => ok
                3.5e38 => #: expected a number between -3.4028235e38 and 3.4028235e38, found 3.5e+38
                -3.5e38 => #: expected a number between -3.4028235e38 and 3.4028235e38, found -3.5e+38
                1e-50 => ok
                "1.5" => #: expected a number between -3.4028235e38 and 3.4028235e38, found "1.5"
            "#]],
        );
    }

    #[test]
    fn date() {
        check_each(
            &primitive(Primitive::Date),
            &[
                "\"2024-02-29\"",
                "\"2000-02-29\"",
                "\"2023-02-29\"",
                "\"1900-02-29\"",
                "\"0000-02-29\"",
                "\"2024-04-31\"",
                "\"2024-12-31\"",
                "\"2024-13-01\"",
                "\"2024-00-10\"",
                "\"2024-01-00\"",
                "\"2024-1-01\"",
                "\" 2024-01-01\"",
                "\"2024-01-01T00:00:00Z\"",
                "\"２０２４-01-01\"",
                "20240101",
            ],
            expect![[r#"
                "2024-02-29" => ok
                "2000-02-29" => ok
                "2023-02-29" => #: '2023-02-29' is not a valid date: February 2023 has 28 days
                "1900-02-29" => #: '1900-02-29' is not a valid date: February 1900 has 28 days
                "0000-02-29" => ok
                "2024-04-31" => #: '2024-04-31' is not a valid date: April 2024 has 30 days
                "2024-12-31" => ok
                "2024-13-01" => #: '2024-13-01' is not a valid date: month 13 does not exist
                "2024-00-10" => #: '2024-00-10' is not a valid date: month 00 does not exist
                "2024-01-00" => #: '2024-01-00' is not a valid date: day 00 does not exist
                "2024-1-01" => #: '2024-1-01' is not a valid date: expected the form YYYY-MM-DD
                " 2024-01-01" => #: ' 2024-01-01' is not a valid date: expected the form YYYY-MM-DD
                "2024-01-01T00:00:00Z" => #: '2024-01-01T00:00:00Z' is not a valid date: expected the form YYYY-MM-DD
                "２０２４-01-01" => #: '２０２４-01-01' is not a valid date: expected the form YYYY-MM-DD
                20240101 => #: expected a date string, found 20240101
            "#]],
        );
    }

    #[test]
    fn time() {
        check_each(
            &primitive(Primitive::Time),
            &[
                "\"13:45:00Z\"",
                "\"00:00:00Z\"",
                "\"23:59:60Z\"",
                "\"12:00:00.123456+05:30\"",
                "\"12:00:00-23:59\"",
                "\"24:00:00Z\"",
                "\"23:60:00Z\"",
                "\"12:00:61Z\"",
                "\"12:00:00+24:00\"",
                "\"12:00:00-05:60\"",
                "\"12:00:00\"",
                "\"12:00:00z\"",
                "\"12:00:00.Z\"",
                "\"12:00:00+0530\"",
                "\"1:00:00Z\"",
                "\"12:00Z\"",
                "1200",
            ],
            expect![[r#"
                "13:45:00Z" => ok
                "00:00:00Z" => ok
                "23:59:60Z" => ok
                "12:00:00.123456+05:30" => ok
                "12:00:00-23:59" => ok
                "24:00:00Z" => #: '24:00:00Z' is not a valid time: hour 24 is out of range (00-23)
                "23:60:00Z" => #: '23:60:00Z' is not a valid time: minute 60 is out of range (00-59)
                "12:00:61Z" => #: '12:00:61Z' is not a valid time: second 61 is out of range (00-60)
                "12:00:00+24:00" => #: '12:00:00+24:00' is not a valid time: offset hour 24 is out of range (00-23)
                "12:00:00-05:60" => #: '12:00:00-05:60' is not a valid time: offset minute 60 is out of range (00-59)
                "12:00:00" => #: '12:00:00' is not a valid time: a time zone offset (Z or ±hh:mm) is required
                "12:00:00z" => #: '12:00:00z' is not a valid time: UTC must be written as an uppercase 'Z'
                "12:00:00.Z" => #: '12:00:00.Z' is not a valid time: expected the form hh:mm:ss, an optional fraction, then Z or ±hh:mm
                "12:00:00+0530" => #: '12:00:00+0530' is not a valid time: expected the form hh:mm:ss, an optional fraction, then Z or ±hh:mm
                "1:00:00Z" => #: '1:00:00Z' is not a valid time: expected the form hh:mm:ss, an optional fraction, then Z or ±hh:mm
                "12:00Z" => #: '12:00Z' is not a valid time: expected the form hh:mm:ss, an optional fraction, then Z or ±hh:mm
                1200 => #: expected a time string, found 1200
            "#]],
        );
    }

    #[test]
    fn date_time() {
        check_each(
            &primitive(Primitive::DateTime),
            &[
                "\"2024-02-29T23:59:59.5Z\"",
                "\"2024-01-01T00:00:00+01:00\"",
                "\"2024-02-30T00:00:00Z\"",
                "\"2024-01-01T24:00:00Z\"",
                "\"2024-01-01t00:00:00Z\"",
                "\"2024-01-01T00:00:00z\"",
                "\"2024-01-01 00:00:00Z\"",
                "\"2024-01-01T00:00:00\"",
                "\"2024-01-01\"",
                "\"2024-1-01T00:00:00Z\"",
                "\"2024-01-01T00:00\"",
                "\"2024-01-01Té\"",
            ],
            expect![[r#"
                "2024-02-29T23:59:59.5Z" => ok
                "2024-01-01T00:00:00+01:00" => ok
                "2024-02-30T00:00:00Z" => #: '2024-02-30T00:00:00Z' is not a valid dateTime: February 2024 has 29 days
                "2024-01-01T24:00:00Z" => #: '2024-01-01T24:00:00Z' is not a valid dateTime: hour 24 is out of range (00-23)
                "2024-01-01t00:00:00Z" => #: '2024-01-01t00:00:00Z' is not a valid dateTime: the date and time must be separated by an uppercase 'T'
                "2024-01-01T00:00:00z" => #: '2024-01-01T00:00:00z' is not a valid dateTime: UTC must be written as an uppercase 'Z'
                "2024-01-01 00:00:00Z" => #: '2024-01-01 00:00:00Z' is not a valid dateTime: expected the form YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm
                "2024-01-01T00:00:00" => #: '2024-01-01T00:00:00' is not a valid dateTime: a time zone offset (Z or ±hh:mm) is required
                "2024-01-01" => #: '2024-01-01' is not a valid dateTime: expected the form YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm
                "2024-1-01T00:00:00Z" => #: '2024-1-01T00:00:00Z' is not a valid dateTime: expected the form YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm
                "2024-01-01T00:00" => #: '2024-01-01T00:00' is not a valid dateTime: expected the form YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm
                "2024-01-01Té" => #: '2024-01-01Té' is not a valid dateTime: expected the form YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or ±hh:mm
            "#]],
        );
    }

    #[test]
    fn duration() {
        check_each(
            &primitive(Primitive::Duration),
            &[
                "\"P1Y2M3DT4H5M6.5S\"",
                "\"PT0.5S\"",
                "\"P1.5Y\"",
                "\"P1W\"",
                "\"P1W2D\"",
                "\"P1WT2H\"",
                "\"P0D\"",
                "\"PT36H\"",
                "\"P1M\"",
                "\"PT1M\"",
                "\"PT1H1.5M\"",
                "\"P1DT1.5H\"",
                "\"P1.5Y2M\"",
                "\"PT1.5H30M\"",
                "\"P\"",
                "\"PT\"",
                "\"P1DT\"",
                "\"P1Y1W\"",
                "\"P1W1Y\"",
                "\"P1D1Y\"",
                "\"P1M1M\"",
                "\"PT1Y\"",
                "\"P1H\"",
                "\"P1DT1HT1M\"",
                "\"-P1D\"",
                "\"p1d\"",
                "\"P1d\"",
                "\"P1.D\"",
                "\"P.5D\"",
                "\"P1X\"",
                "\"P1é\"",
                "\"PT1S1\"",
                "\"P1D \"",
                "3600",
            ],
            expect![[r#"
                "P1Y2M3DT4H5M6.5S" => ok
                "PT0.5S" => ok
                "P1.5Y" => ok
                "P1W" => ok
                "P1W2D" => ok
                "P1WT2H" => ok
                "P0D" => ok
                "PT36H" => ok
                "P1M" => ok
                "PT1M" => ok
                "PT1H1.5M" => ok
                "P1DT1.5H" => ok
                "P1.5Y2M" => #: 'P1.5Y2M' is not a valid duration: only the last component may have a fraction
                "PT1.5H30M" => #: 'PT1.5H30M' is not a valid duration: only the last component may have a fraction
                "P" => #: 'P' is not a valid duration: 'P' must be followed by at least one component
                "PT" => #: 'PT' is not a valid duration: 'T' must be followed by hours, minutes or seconds
                "P1DT" => #: 'P1DT' is not a valid duration: 'T' must be followed by hours, minutes or seconds
                "P1Y1W" => #: 'P1Y1W' is not a valid duration: weeks cannot be combined with years or months
                "P1W1Y" => #: 'P1W1Y' is not a valid duration: weeks cannot be combined with years or months
                "P1D1Y" => #: 'P1D1Y' is not a valid duration: components must appear at most once each, in the order Y, M, D, T, H, M, S
                "P1M1M" => #: 'P1M1M' is not a valid duration: components must appear at most once each, in the order Y, M, D, T, H, M, S
                "PT1Y" => #: 'PT1Y' is not a valid duration: 'Y' must come before 'T'
                "P1H" => #: 'P1H' is not a valid duration: 'H' must come after 'T'
                "P1DT1HT1M" => #: 'P1DT1HT1M' is not a valid duration: 'T' appears more than once
                "-P1D" => #: '-P1D' is not a valid duration: a duration starts with an uppercase 'P'
                "p1d" => #: 'p1d' is not a valid duration: a duration starts with an uppercase 'P'
                "P1d" => #: 'P1d' is not a valid duration: 'd' is not a duration designator (Y, M, W, D, H, M or S)
                "P1.D" => #: 'P1.D' is not a valid duration: a '.' must be followed by digits
                "P.5D" => #: 'P.5D' is not a valid duration: expected a number at '.5D'
                "P1X" => #: 'P1X' is not a valid duration: 'X' is not a duration designator (Y, M, W, D, H, M or S)
                "P1é" => #: 'P1é' is not a valid duration: 'é' is not a duration designator (Y, M, W, D, H, M or S)
                "PT1S1" => #: 'PT1S1' is not a valid duration: the last number has no designator
                "P1D " => #: 'P1D ' is not a valid duration: expected a number at ' '
                3600 => #: expected a duration string, found 3600
            "#]],
        );
    }

    #[test]
    fn enums() {
        let levels = integer_enum(&[("low", 1), ("high", 2)]);
        check_each(
            &levels,
            &["1", "2", "2.0", "3", "1.5", "\"low\"", "null"],
            expect![[r#"
                1 => ok
                2 => ok
                2.0 => ok
                3 => #: expected one of the enum values 1 (low), 2 (high), found 3
                1.5 => #: expected one of the enum values 1 (low), 2 (high), found 1.5
                "low" => #: expected one of the enum values 1 (low), 2 (high), found "low"
                null => #: expected one of the enum values 1 (low), 2 (high), found null
            "#]],
        );
        let modes = string_enum(&[("on", "on"), ("off", "off"), ("quote", "say \"hi\"")]);
        check_each(
            &modes,
            &["\"on\"", "\"say \\\"hi\\\"\"", "\"On\"", "1"],
            expect![[r#"
                "on" => ok
                "say \"hi\"" => ok
                "On" => #: expected one of the enum values "on" (on), "off" (off), "say \"hi\"" (quote), found "On"
                1 => #: expected one of the enum values "on" (on), "off" (off), "say \"hi\"" (quote), found 1
            "#]],
        );
        let empty = string_enum(&[]);
        check_each(
            &empty,
            &["\"x\""],
            expect![[r#"
            "x" => #: the enum has no values, so nothing conforms to it; found "x"
        "#]],
        );
    }

    #[test]
    fn arrays() {
        let matrix = array(array(primitive(Primitive::Integer)));
        check_each(
            &matrix,
            &["[]", "[[1, 2], [], [3]]", "[[1, \"2\"], 3, [true, 4, 5.5]]", "{\"0\": [1]}", "null"],
            expect![[r#"
                [] => ok
                [[1, 2], [], [3]] => ok
                [[1, "2"], 3, [true, 4, 5.5]] => #/0/1: expected an integer between -2147483648 and 2147483647, found "2"
                    #/1: expected an array, found 3
                    #/2/0: expected an integer between -2147483648 and 2147483647, found true
                    #/2/2: expected an integer between -2147483648 and 2147483647, found 5.5
                {"0": [1]} => #: expected an array, found an object
                null => #: expected an array, found null
            "#]],
        );
    }

    #[test]
    fn maps() {
        let readings = map(primitive(Primitive::Double));
        check_each(
            &readings,
            &[
                "{}",
                "{\"a\": 1, \"\": 2, \"with space\": 3}",
                "{\"a/b\": \"x\", \"c~d\": \"y\", \"~1\": \"z\"}",
                "[1, 2]",
            ],
            expect![[r#"
                {} => ok
                {"a": 1, "": 2, "with space": 3} => ok
                {"a/b": "x", "c~d": "y", "~1": "z"} => #/a~1b: expected a number, found "x"
                    #/c~0d: expected a number, found "y"
                    #/~01: expected a number, found "z"
                [1, 2] => #: expected a map (an object from sensorName to reading), found an array
            "#]],
        );
        let nested = map(map(array(primitive(Primitive::Boolean))));
        check_each(
            &nested,
            &["{\"x\": {\"y\": [true, 1]}, \"z\": {\"w\": false}}"],
            expect![[r#"
                {"x": {"y": [true, 1]}, "z": {"w": false}} => #/x/y/1: expected a boolean, found 1
                    #/z/w: expected an array, found false
            "#]],
        );
    }

    #[test]
    fn objects() {
        let address = object(vec![("street", primitive(Primitive::String)), ("number", primitive(Primitive::Integer))]);
        let person = object(vec![
            ("name", primitive(Primitive::String)),
            ("born", primitive(Primitive::Date)),
            ("address", address),
            ("tags", array(primitive(Primitive::String))),
        ]);
        check_each(
            &person,
            &[
                "{}",
                "{\"name\": \"Ada\", \"born\": \"1815-12-10\", \"address\": {\"street\": \"Main\"}}",
                "{\"name\": 1, \"born\": \"1815-02-30\", \"address\": {\"number\": 1.5, \"zip\": \"x\"}, \"tags\": [\"a\", null]}",
                "{\"foo\": 1}",
                "{\"a/b~c\": 1}",
                "\"Ada\"",
            ],
            expect![[r#"
                {} => ok
                {"name": "Ada", "born": "1815-12-10", "address": {"street": "Main"}} => ok
                {"name": 1, "born": "1815-02-30", "address": {"number": 1.5, "zip": "x"}, "tags": ["a", null]} => #/name: expected a string, found 1
                    #/born: '1815-02-30' is not a valid date: February 1815 has 28 days
                    #/address/number: expected an integer between -2147483648 and 2147483647, found 1.5
                    #/address/zip: no field named 'zip' in the object schema; fields are: street, number
                    #/tags/1: expected a string, found null
                {"foo": 1} => #/foo: no field named 'foo' in the object schema; fields are: name, born, address, tags
                {"a/b~c": 1} => #/a~1b~0c: no field named 'a/b~c' in the object schema; fields are: name, born, address, tags
                "Ada" => #: expected an object, found "Ada"
            "#]],
        );
        let empty = object(vec![]);
        check_each(
            &empty,
            &["{}", "{\"x\": 1}"],
            expect![[r#"
            {} => ok
            {"x": 1} => #/x: no field named 'x' in the object schema, which has no fields
        "#]],
        );
    }

    #[test]
    fn geospatial_point() {
        let point = Schema::Geospatial(Geospatial::Point);
        check_each(
            &point,
            &[
                r#"{"type": "Point", "coordinates": [-122.1, 47.6]}"#,
                r#"{"type": "Point", "coordinates": [-122.1, 47.6, 120]}"#,
                r#"{"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2], "name": "foreign member"}"#,
                r#"{"type": "Point", "coordinates": [1]}"#,
                r#"{"type": "Point", "coordinates": [1, 2, 3, 4]}"#,
                r#"{"type": "Point", "coordinates": [1, "2"]}"#,
                r#"{"type": "Point", "coordinates": [[1, 2]]}"#,
                r#"{"type": "Point", "coordinates": 1}"#,
                r#"{"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 3]}"#,
                r#"{"type": "Point", "coordinates": [1, 2], "bbox": "all"}"#,
                r#"{"type": "LineString", "coordinates": [1, 2]}"#,
                r#"{"type": "point", "coordinates": [1, 2]}"#,
                r#"{"coordinates": [1, 2]}"#,
                r#"{"type": "Point"}"#,
                r#"[1, 2]"#,
            ],
            expect![[r#"
                {"type": "Point", "coordinates": [-122.1, 47.6]} => ok
                {"type": "Point", "coordinates": [-122.1, 47.6, 120]} => ok
                {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2], "name": "foreign member"} => ok
                {"type": "Point", "coordinates": [1]} => #/coordinates: a position has 2 or 3 numbers (longitude, latitude and optional altitude), found 1
                {"type": "Point", "coordinates": [1, 2, 3, 4]} => #/coordinates: a position has 2 or 3 numbers (longitude, latitude and optional altitude), found 4
                {"type": "Point", "coordinates": [1, "2"]} => #/coordinates/1: expected a number, found "2"
                {"type": "Point", "coordinates": [[1, 2]]} => #/coordinates: a position has 2 or 3 numbers (longitude, latitude and optional altitude), found 1
                    #/coordinates/0: expected a number, found an array
                {"type": "Point", "coordinates": 1} => #/coordinates: expected a position (an array of longitude, latitude and optional altitude), found 1
                {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 3]} => #/bbox: a bbox has 4 or 6 numbers, found 3
                {"type": "Point", "coordinates": [1, 2], "bbox": "all"} => #/bbox: expected a bbox (an array of 4 or 6 numbers), found "all"
                {"type": "LineString", "coordinates": [1, 2]} => #/type: expected "Point", found "LineString"
                {"type": "point", "coordinates": [1, 2]} => #/type: expected "Point", found "point"
                {"coordinates": [1, 2]} => #: missing member 'type'; a GeoJSON Point has "type": "Point"
                {"type": "Point"} => #: missing member 'coordinates'
                [1, 2] => #: expected a GeoJSON Point object, found an array
            "#]],
        );
    }

    #[test]
    fn geospatial_lines_and_points() {
        check_each(
            &Schema::Geospatial(Geospatial::MultiPoint),
            &[
                r#"{"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}"#,
                r#"{"type": "MultiPoint", "coordinates": []}"#,
                r#"{"type": "MultiPoint", "coordinates": [1, 2]}"#,
            ],
            expect![[r#"
                {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]} => ok
                {"type": "MultiPoint", "coordinates": []} => ok
                {"type": "MultiPoint", "coordinates": [1, 2]} => #/coordinates/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/1: expected a position (an array of longitude, latitude and optional altitude), found 2
            "#]],
        );
        check_each(
            &Schema::Geospatial(Geospatial::LineString),
            &[
                r#"{"type": "LineString", "coordinates": [[1, 2], [3, 4]]}"#,
                r#"{"type": "LineString", "coordinates": [[1, 2]]}"#,
                r#"{"type": "LineString", "coordinates": [[1, 2], [3]]}"#,
            ],
            expect![[r#"
                {"type": "LineString", "coordinates": [[1, 2], [3, 4]]} => ok
                {"type": "LineString", "coordinates": [[1, 2]]} => #/coordinates: a LineString needs at least 2 positions, found 1
                {"type": "LineString", "coordinates": [[1, 2], [3]]} => #/coordinates/1: a position has 2 or 3 numbers (longitude, latitude and optional altitude), found 1
            "#]],
        );
        check_each(
            &Schema::Geospatial(Geospatial::MultiLineString),
            &[
                r#"{"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6], [7, 8], [9, 10]]]}"#,
                r#"{"type": "MultiLineString", "coordinates": []}"#,
                r#"{"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6]]]}"#,
                r#"{"type": "MultiLineString", "coordinates": [[1, 2], [3, 4]]}"#,
            ],
            expect![[r#"
                {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6], [7, 8], [9, 10]]]} => ok
                {"type": "MultiLineString", "coordinates": []} => ok
                {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6]]]} => #/coordinates/1: a LineString needs at least 2 positions, found 1
                {"type": "MultiLineString", "coordinates": [[1, 2], [3, 4]]} => #/coordinates/0/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/0/1: expected a position (an array of longitude, latitude and optional altitude), found 2
                    #/coordinates/1/0: expected a position (an array of longitude, latitude and optional altitude), found 3
                    #/coordinates/1/1: expected a position (an array of longitude, latitude and optional altitude), found 4
            "#]],
        );
    }

    #[test]
    fn geospatial_polygons() {
        let square = "[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]";
        let hole = "[[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.2, 0.2]]";
        check_each(
            &Schema::Geospatial(Geospatial::Polygon),
            &[
                &format!(r#"{{"type": "Polygon", "coordinates": [{square}]}}"#),
                &format!(r#"{{"type": "Polygon", "coordinates": [{square}, {hole}]}}"#),
                r#"{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}"#,
                r#"{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}"#,
                r#"{"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0]]]}"#,
                r#"{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], ["0", 0]]]}"#,
                r#"{"type": "Polygon", "coordinates": []}"#,
                &format!(r#"{{"type": "Polygon", "coordinates": {square}}}"#),
            ],
            expect![[r#"
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]} => ok
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.2, 0.2]]]} => ok
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]} => #/coordinates/0: a linear ring must end where it starts: the first position is [0,0] and the last is [0,1]
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]} => #/coordinates/0: a linear ring needs at least 4 positions, found 3
                {"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0]]]} => #/coordinates/0: a linear ring must end where it starts: the first position is [0,0,5] and the last is [0,0]
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], ["0", 0]]]} => #/coordinates/0/3/0: expected a number, found "0"
                {"type": "Polygon", "coordinates": []} => #/coordinates: a Polygon needs at least one linear ring (its exterior)
                {"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]} => #/coordinates/0/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0: a linear ring needs at least 4 positions, found 2
                    #/coordinates/1/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/1/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/1: a linear ring needs at least 4 positions, found 2
                    #/coordinates/2/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/2/1: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/2: a linear ring needs at least 4 positions, found 2
                    #/coordinates/3/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/3/1: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/3: a linear ring needs at least 4 positions, found 2
                    #/coordinates/4/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/4/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/4: a linear ring needs at least 4 positions, found 2
            "#]],
        );
        check_each(
            &Schema::Geospatial(Geospatial::MultiPolygon),
            &[
                &format!(r#"{{"type": "MultiPolygon", "coordinates": [[{square}], [{square}, {hole}]]}}"#),
                r#"{"type": "MultiPolygon", "coordinates": []}"#,
                &format!(
                    r#"{{"type": "MultiPolygon", "coordinates": [[{square}], [[[0, 0], [1, 0], [1, 1], [0, 1]]], []]}}"#
                ),
                &format!(r#"{{"type": "MultiPolygon", "coordinates": [{square}]}}"#),
            ],
            expect![[r#"
                {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.2, 0.2]]]]} => ok
                {"type": "MultiPolygon", "coordinates": []} => ok
                {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 1]]], []]} => #/coordinates/1/0: a linear ring must end where it starts: the first position is [0,0] and the last is [0,1]
                    #/coordinates/2: a Polygon needs at least one linear ring (its exterior)
                {"type": "MultiPolygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]} => #/coordinates/0/0/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/0/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/0: a linear ring needs at least 4 positions, found 2
                    #/coordinates/0/1/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/0/1/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/1: a linear ring needs at least 4 positions, found 2
                    #/coordinates/0/2/0: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/0/2/1: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/0/2: a linear ring needs at least 4 positions, found 2
                    #/coordinates/0/3/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/3/1: expected a position (an array of longitude, latitude and optional altitude), found 1
                    #/coordinates/0/3: a linear ring needs at least 4 positions, found 2
                    #/coordinates/0/4/0: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/4/1: expected a position (an array of longitude, latitude and optional altitude), found 0
                    #/coordinates/0/4: a linear ring needs at least 4 positions, found 2
            "#]],
        );
    }

    #[test]
    fn every_violation_is_reported_up_to_the_limit() {
        let numbers = array(primitive(Primitive::Integer));
        let many = format!("[{}]", vec!["\"x\""; 150].join(", "));
        let rendered = check(&numbers, &many);
        let last = rendered.lines().last().unwrap_or_default().to_owned();
        expect![[r#"100 violations; last: #/99: expected an integer between -2147483648 and 2147483647, found "x""#]]
            .assert_eq(&format!("{} violations; last: {last}", rendered.lines().count()));
        // Nested containers stop too, not only the outermost loop.
        let nested = array(map(primitive(Primitive::Boolean)));
        let rows = format!("[{}]", vec![r#"{"a": 1, "b": 2, "c": 3}"#; 50].join(", "));
        expect!["100"].assert_eq(&check(&nested, &rows).lines().count().to_string());
    }

    #[test]
    fn long_and_odd_texts_are_quoted_safely() {
        let long = "x".repeat(100);
        check_each(
            &primitive(Primitive::Integer),
            &[&format!("\"{long}\"")],
            expect![[r#"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" => #: expected an integer between -2147483648 and 2147483647, found "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…
            "#]],
        );
        check_each(
            &primitive(Primitive::Date),
            &["\"2024-01-01\\n\""],
            expect![[r#"
                "2024-01-01\n" => #: '2024-01-01\n' is not a valid date: expected the form YYYY-MM-DD
            "#]],
        );
        check_each(
            &object(vec![("a", primitive(Primitive::Boolean))]),
            &["{\"line\\nbreak\": 1}"],
            expect![[r#"
                {"line\nbreak": 1} => #/line\nbreak: no field named 'line\nbreak' in the object schema; fields are: a
            "#]],
        );
    }
}
