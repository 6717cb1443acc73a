//! Property keys and extended property values of the 2018 management API (`/propertykeys`, and the `properties` of spaces, sensors, users and devices): what a key may declare, and whether a value satisfies its key.
//!
//! A key names a property for a space's subtree and one scope, and may constrain its values by a primitive data type, a `min`/`max` and `validationData` (a regular expression, a `;`-separated list, a JSON schema or a date-time format, by type).
//! `PropertyKey::create`/`update` check a definition the way the 2018 service's models did; `PropertyKey::validate` checks a new value and returns it normalised (constraints apply to new values only, so stored values are never re-checked).
//! This file does not know where keys live, whether a name is unique on its space, or which key an object may use: `state` owns that.
//! Regular expressions run on the `regex` crate (no look-around, no back-references, linear time) rather than .NET's engine, and JSON schemas on `boon`, which never loads anything: a schema may only refer to its own parts.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil;
use jiff::tz::Offset;
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value, json};

/// Values longer than this many characters are refused for every type (the 2018 model's `@Size(max = 450)`).
pub const VALUE_CHARS_MAX: usize = 450;
/// The most a regular expression (of a string key, or a `pattern` in a key's JSON schema) may take once compiled; it bounds the memory one key definition can make the server spend, and a key's compiled rules are kept while the key exists.
///
/// Unicode classes are large: `^\w{8}-\w{4}-\w{4}-\w{4}-\w{12}$` (a GUID written with `\w`) compiles to about 1.6 MB and `^\w{50}$` to about 2.5 MB, so 4 MiB takes such ordinary patterns with room to spare, while `^\w{100}$` (about 5 MB) is refused; the `regex` crate's own default is 10 MiB.
pub const REGEX_BYTES_MAX: usize = 4 << 20;

/// The primitive data type of a key, which says how its values are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    None,
    String,
    Bool,
    Int,
    UInt,
    Long,
    DateTime,
    Json,
    Set,
    Enum,
}

/// The kind of object a key's properties are set on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Spaces,
    Sensors,
    Users,
    Devices,
}

/// A checked property key: `PropertyKey::create`, `update` and `from_json` make one whose definition holds together.
///
/// The fields are public to read; a key built by hand is checked when its rules are compiled (`validator` and `validate` return the definition's error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyKey {
    pub id: u32,
    /// 3 to 50 letters, digits or underscores; unique (ignoring case) per space and scope.
    pub name: String,
    pub primitive_data_type: PrimitiveType,
    /// 4 to 15 characters, `None` when not given; used for filtering and permissions.
    pub category: String,
    pub description: Option<String>,
    /// The space whose subtree may use the key.
    pub space_id: String,
    pub scope: Scope,
    /// A regular expression (String), a `;`-separated list (Set, Enum), a JSON schema (Json) or a .NET date-time format (DateTime, `o` when absent).
    pub validation_data: Option<String>,
    /// A bound on values (Int, UInt, Long), on date-times (DateTime, ISO 8601), on characters (String, Json) or on items (Set).
    pub min: Option<String>,
    pub max: Option<String>,
}

/// The fields of a create or update, as read from the request (all optional here; `PropertyKey::create` says which are required).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropertyKeyInput {
    pub name: Option<String>,
    pub primitive_data_type: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub space_id: Option<String>,
    pub scope: Option<String>,
    pub validation_data: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

/// Why a key definition or a property value is refused; `Display` is the message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// A member of a key definition, or a property value (`member` is `value`), is wrong; `reason` says what was wrong and what is accepted.
    #[error("{member}: {reason}")]
    InvalidInput { member: String, reason: String },
    /// A member or a value is longer than the API allows.
    #[error("{member}: {actual} characters is over the limit of {limit}")]
    LimitExceeded { member: String, limit: usize, actual: usize },
}

/// A key's rules compiled once (its regular expression or JSON schema included), to check many values.
pub struct Validator {
    name: String,
    primitive_data_type: PrimitiveType,
    rules: Rules,
}

impl PrimitiveType {
    pub const ALL: [PrimitiveType; 10] = [
        PrimitiveType::None,
        PrimitiveType::String,
        PrimitiveType::Bool,
        PrimitiveType::Int,
        PrimitiveType::UInt,
        PrimitiveType::Long,
        PrimitiveType::DateTime,
        PrimitiveType::Json,
        PrimitiveType::Set,
        PrimitiveType::Enum,
    ];

    /// The name as the API writes it.
    pub fn name(self) -> &'static str {
        match self {
            PrimitiveType::None => "None",
            PrimitiveType::String => "String",
            PrimitiveType::Bool => "Bool",
            PrimitiveType::Int => "Int",
            PrimitiveType::UInt => "UInt",
            PrimitiveType::Long => "Long",
            PrimitiveType::DateTime => "DateTime",
            PrimitiveType::Json => "Json",
            PrimitiveType::Set => "Set",
            PrimitiveType::Enum => "Enum",
        }
    }

    /// A type by its name, ignoring case.
    pub fn parse(text: &str) -> Option<PrimitiveType> {
        PrimitiveType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(text))
    }
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Spaces, Scope::Sensors, Scope::Users, Scope::Devices];

    /// The name as the API writes it.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Spaces => "Spaces",
            Scope::Sensors => "Sensors",
            Scope::Users => "Users",
            Scope::Devices => "Devices",
        }
    }

    /// A scope by its name, ignoring case.
    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text))
    }
}

impl PropertyKeyInput {
    /// From a JSON object whose member names are matched case-insensitively (clients send PascalCase or camelCase).
    ///
    /// Members are strings; `null` counts as absent, and `min`/`max` may also be JSON numbers (a client writing `"min": 0` means `"0"`).
    /// Unknown members are ignored, as the 2018 service did; a member given twice in different cases is an error.
    pub fn from_json(value: &Value) -> Result<PropertyKeyInput, PropertyError> {
        let Value::Object(members) = value else {
            return Err(invalid("body", format!("must be a JSON object, not {}", json_kind(value))));
        };
        let mut input = PropertyKeyInput::default();
        let mut seen: [Option<&str>; INPUT_MEMBERS.len()] = Default::default();
        for (given, member_value) in members {
            let Some(at) = INPUT_MEMBERS.iter().position(|m| m.eq_ignore_ascii_case(given)) else {
                continue;
            };
            let member = INPUT_MEMBERS[at];
            if let Some(first) = seen[at] {
                return Err(invalid(member, format!("is given twice (as '{first}' and '{given}')")));
            }
            seen[at] = Some(given);
            let text = match member_value {
                Value::Null => continue,
                Value::String(text) => text.clone(),
                Value::Number(number) if member == "min" || member == "max" => number.to_string(),
                other => return Err(invalid(member, format!("must be a string, not {}", json_kind(other)))),
            };
            *input.member_mut(at) = Some(text);
        }
        Ok(input)
    }

    fn member_mut(&mut self, at: usize) -> &mut Option<String> {
        match at {
            0 => &mut self.name,
            1 => &mut self.primitive_data_type,
            2 => &mut self.category,
            3 => &mut self.description,
            4 => &mut self.space_id,
            5 => &mut self.scope,
            6 => &mut self.validation_data,
            7 => &mut self.min,
            _ => &mut self.max,
        }
    }
}

impl PropertyKey {
    /// Checks a new key: `name`, `scope` and `spaceId` are required, `primitiveDataType` defaults to None and `category` to `None`.
    ///
    /// Lengths: name 3–50 letters/digits/underscores, category 4–15 characters, description ≤ 4000, validationData ≤ 2000, min and max ≤ 20 each.
    /// An empty `validationData`, `min` or `max` counts as absent.
    /// The type decides what `min`, `max` and `validationData` must be: numbers in the type's range (Int, UInt, Long), ISO 8601 date-times and a .NET format (DateTime), counts of characters and a regular expression (String) or a JSON schema (Json), a count of items and a `;`-separated list (Set), a list alone (Enum); a member the type does not use is an error, and `min` ≤ `max`.
    pub fn create(id: u32, input: PropertyKeyInput) -> Result<PropertyKey, PropertyError> {
        let name = input.name.ok_or_else(|| invalid("name", format!("is required: {NAME_ACCEPTED}")))?;
        let scope = match input.scope {
            Some(text) => parse_scope(&text)?,
            None => return Err(invalid("scope", format!("is required; accepted: {}", scope_names()))),
        };
        let space_id = input.space_id.ok_or_else(|| invalid("spaceId", "is required: the id of a space".to_owned()))?;
        let primitive_data_type = match input.primitive_data_type {
            Some(text) => parse_type(&text)?,
            None => PrimitiveType::None,
        };
        let key = PropertyKey {
            id,
            name,
            primitive_data_type,
            category: input.category.unwrap_or_else(|| "None".to_owned()),
            description: input.description,
            space_id,
            scope,
            validation_data: non_empty(input.validation_data),
            min: non_empty(input.min),
            max: non_empty(input.max),
        };
        key.check()?;
        Ok(key)
    }

    /// Applies an update (only present fields change) and re-checks the whole key; on error `self` is unchanged.
    ///
    /// The 2018 PATCH model has no `primitiveDataType` or `scope`, but PUT (create or update) sends them; both apply when present, and the caller decides whether its route allows them.
    /// An empty `validationData`, `min` or `max` removes it.
    pub fn update(&mut self, input: PropertyKeyInput) -> Result<(), PropertyError> {
        let mut next = self.clone();
        if let Some(name) = input.name {
            next.name = name;
        }
        if let Some(text) = input.primitive_data_type {
            next.primitive_data_type = parse_type(&text)?;
        }
        if let Some(category) = input.category {
            next.category = category;
        }
        if let Some(description) = input.description {
            next.description = Some(description);
        }
        if let Some(space_id) = input.space_id {
            next.space_id = space_id;
        }
        if let Some(text) = input.scope {
            next.scope = parse_scope(&text)?;
        }
        if let Some(validation_data) = input.validation_data {
            next.validation_data = non_empty(Some(validation_data));
        }
        if let Some(min) = input.min {
            next.min = non_empty(Some(min));
        }
        if let Some(max) = input.max {
            next.max = non_empty(Some(max));
        }
        next.check()?;
        *self = next;
        Ok(())
    }

    /// Validates a value against the key and returns it normalised (bool lowercased, numbers trimmed, set and enum items in the key's case).
    ///
    /// This compiles the key's rules; to check many values against one key, use `validator` once.
    pub fn validate(&self, value: &str) -> Result<String, PropertyError> {
        self.validator()?.validate(value)
    }

    /// The key's rules, compiled once, to check values with; the definition's error when the key does not hold together.
    pub fn validator(&self) -> Result<Validator, PropertyError> {
        Ok(Validator { name: self.name.clone(), primitive_data_type: self.primitive_data_type, rules: self.check()? })
    }

    /// The retrieve shape, camelCase, without the members that are absent; also the store record.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".to_owned(), json!(self.id));
        out.insert("name".to_owned(), json!(self.name));
        out.insert("primitiveDataType".to_owned(), json!(self.primitive_data_type.name()));
        out.insert("category".to_owned(), json!(self.category));
        if let Some(description) = &self.description {
            out.insert("description".to_owned(), json!(description));
        }
        out.insert("spaceId".to_owned(), json!(self.space_id));
        out.insert("scope".to_owned(), json!(self.scope.name()));
        for (member, text) in [("validationData", &self.validation_data), ("min", &self.min), ("max", &self.max)] {
            if let Some(text) = text {
                out.insert(member.to_owned(), json!(text));
            }
        }
        Value::Object(out)
    }

    /// Back from `to_json` (the store keeps that shape); `None` when the shape is wrong or the key no longer passes its checks.
    pub fn from_json(value: &Value) -> Option<PropertyKey> {
        let text = |member: &str| value.get(member)?.as_str().map(str::to_owned);
        let optional = |member: &str| match value.get(member) {
            None => Some(None),
            Some(Value::String(text)) => Some(Some(text.clone())),
            Some(_) => None,
        };
        let id = u32::try_from(value.get("id")?.as_u64()?).ok()?;
        let input = PropertyKeyInput {
            name: Some(text("name")?),
            primitive_data_type: Some(text("primitiveDataType")?),
            category: Some(text("category")?),
            description: optional("description")?,
            space_id: Some(text("spaceId")?),
            scope: Some(text("scope")?),
            validation_data: optional("validationData")?,
            min: optional("min")?,
            max: optional("max")?,
        };
        // Checked again after decoding: a record that would not be created today is not loaded as if it were.
        let key = PropertyKey::create(id, input).ok()?;
        (key.to_json() == *value).then_some(key)
    }

    /// The checks of a whole definition, shared by create, update, load and `validator`; the rules they compiled on the way.
    fn check(&self) -> Result<Rules, PropertyError> {
        let name_ok =
            (3..=50).contains(&self.name.len()) && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(invalid("name", format!("{} is not {NAME_ACCEPTED}", shown(&self.name))));
        }
        let category_chars = self.category.chars().count();
        if !(4..=15).contains(&category_chars) {
            return Err(invalid(
                "category",
                format!("{} is {category_chars} characters; accepted: 4 to 15 characters", shown(&self.category)),
            ));
        }
        if self.space_id.is_empty() {
            return Err(invalid("spaceId", "is empty; accepted: the id of a space".to_owned()));
        }
        check_chars("description", self.description.as_deref(), 4000)?;
        check_chars("validationData", self.validation_data.as_deref(), 2000)?;
        check_chars("min", self.min.as_deref(), 20)?;
        check_chars("max", self.max.as_deref(), 20)?;
        Rules::compile(self)
    }
}

impl Validator {
    /// Validates a value and returns it normalised; see `PropertyKey::validate`.
    pub fn validate(&self, value: &str) -> Result<String, PropertyError> {
        let chars = value.chars().count();
        if chars > VALUE_CHARS_MAX {
            return Err(PropertyError::LimitExceeded {
                member: "value".to_owned(),
                limit: VALUE_CHARS_MAX,
                actual: chars,
            });
        }
        match &self.rules {
            Rules::Any => Ok(value.to_owned()),
            Rules::Bool => {
                if value.eq_ignore_ascii_case("true") {
                    Ok("true".to_owned())
                } else if value.eq_ignore_ascii_case("false") {
                    Ok("false".to_owned())
                } else {
                    Err(self.refuse(format!("{} is not a bool; accepted: true or false", shown(value))))
                }
            }
            Rules::Integer { min, max } => {
                let text = value.trim();
                let Some(number) = parse_integer(text) else {
                    return Err(self.refuse(format!(
                        "{} is not a whole number; accepted: {}",
                        shown(value),
                        integer_accepted(self.primitive_data_type)
                    )));
                };
                let (lowest, highest) = integer_range(self.primitive_data_type);
                if number < lowest || number > highest {
                    return Err(self.refuse(format!(
                        "{} is out of range; accepted: {}",
                        shown(text),
                        integer_accepted(self.primitive_data_type)
                    )));
                }
                self.check_bounds(number, text, min, max)?;
                Ok(text.to_owned())
            }
            Rules::String { count, regex } => {
                self.check_count(chars, count, "characters")?;
                if let Some(regex) = regex
                    && !regex.is_match(value)
                {
                    return Err(self.refuse(format!(
                        "{} does not match the regular expression {}",
                        shown(value),
                        shown(regex.as_str())
                    )));
                }
                Ok(value.to_owned())
            }
            Rules::DateTime { format, min, max } => {
                let at = format.parse(value).map_err(|why| self.refuse(format!("{} {why}", shown(value))))?;
                self.check_bounds(at, value, min, max)?;
                Ok(value.to_owned())
            }
            Rules::Set { items, count } => {
                if value.trim().is_empty() {
                    self.check_count(0, count, "items")?;
                    return Ok(String::new());
                }
                let mut out: Vec<&str> = Vec::new();
                for given in value.split(';').map(str::trim) {
                    if given.is_empty() {
                        return Err(self.refuse(format!("{} has an empty item", shown(value))));
                    }
                    let item = self.item(items, given)?;
                    if out.iter().any(|o| o.eq_ignore_ascii_case(item)) {
                        return Err(self.refuse(format!("{} lists '{item}' twice", shown(value))));
                    }
                    out.push(item);
                }
                self.check_count(out.len(), count, "items")?;
                Ok(out.join(";"))
            }
            Rules::Enum { items } => Ok(self.item(items, value.trim())?.to_owned()),
            Rules::Json { count, schema } => {
                self.check_count(chars, count, "characters")?;
                let parsed: Value = serde_json::from_str(value)
                    .map_err(|e| self.refuse(format!("{} is not JSON: {e}", shown(value))))?;
                if let Some(schema) = schema
                    && let Err(error) = schema.schemas.validate(&parsed, schema.index)
                {
                    return Err(self.refuse(format!("does not match the key's JSON schema: {}", leaf_message(&error))));
                }
                Ok(value.to_owned())
            }
        }
    }

    /// The item of the key's list that `given` names, ignoring case.
    fn item<'a>(&self, items: &'a [String], given: &str) -> Result<&'a str, PropertyError> {
        items.iter().find(|item| item.eq_ignore_ascii_case(given)).map(String::as_str).ok_or_else(|| {
            self.refuse(format!("{} is not one of the key's values; accepted: {}", shown(given), items.join(", ")))
        })
    }

    fn check_count(&self, actual: usize, count: &Counts, unit: &str) -> Result<(), PropertyError> {
        if let Some(min) = count.min
            && (actual as u64) < u64::from(min)
        {
            return Err(self.refuse(format!("has {actual} {unit}, fewer than the key's min {min}")));
        }
        if let Some(max) = count.max
            && (actual as u64) > u64::from(max)
        {
            return Err(self.refuse(format!("has {actual} {unit}, more than the key's max {max}")));
        }
        Ok(())
    }

    fn check_bounds<T: PartialOrd>(
        &self,
        at: T,
        value: &str,
        min: &Option<Bound<T>>,
        max: &Option<Bound<T>>,
    ) -> Result<(), PropertyError> {
        if let Some(min) = min
            && at < min.at
        {
            return Err(self.refuse(format!("{} is less than the key's min {}", shown(value), min.text)));
        }
        if let Some(max) = max
            && at > max.at
        {
            return Err(self.refuse(format!("{} is more than the key's max {}", shown(value), max.text)));
        }
        Ok(())
    }

    fn refuse(&self, reason: String) -> PropertyError {
        let (name, kind) = (&self.name, self.primitive_data_type.name());
        invalid("value", format!("{reason} (property key '{name}', {kind})"))
    }
}

/// The JSON members of a create or update, in `PropertyKeyInput::member_mut` order.
const INPUT_MEMBERS: [&str; 9] =
    ["name", "primitiveDataType", "category", "description", "spaceId", "scope", "validationData", "min", "max"];

const NAME_ACCEPTED: &str = "3 to 50 letters, digits or underscores";

/// A key's rules, compiled: what `Validator::validate` checks per type.
enum Rules {
    Any,
    Bool,
    /// Int, UInt or Long; the type's own range is checked from the validator's type.
    Integer {
        min: Option<Bound<i128>>,
        max: Option<Bound<i128>>,
    },
    String {
        count: Counts,
        regex: Option<Regex>,
    },
    DateTime {
        format: DateFormat,
        min: Option<Bound<Timestamp>>,
        max: Option<Bound<Timestamp>>,
    },
    Set {
        items: Vec<String>,
        count: Counts,
    },
    Enum {
        items: Vec<String>,
    },
    Json {
        count: Counts,
        schema: Option<CompiledSchema>,
    },
}

/// A `min` or `max` read, with the text it was written as for messages.
struct Bound<T> {
    at: T,
    text: String,
}

/// Bounds on a number of characters or items.
struct Counts {
    min: Option<u32>,
    max: Option<u32>,
}

struct CompiledSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Rules {
    /// What each type makes of `min`/`max` and `validationData` (the 2018 constraint table):
    ///
    /// | type | min/max | validationData |
    /// |---|---|---|
    /// | None, Bool | not used | not used |
    /// | Int, UInt, Long | value range | not used |
    /// | String | length range | optional regex, single-line and case-insensitive |
    /// | DateTime | ISO 8601 range | optional .NET format, `o` by default |
    /// | Set | item-count range | required `;`-separated list |
    /// | Enum | not used | required `;`-separated list |
    /// | Json | length range | optional JSON schema |
    fn compile(key: &PropertyKey) -> Result<Rules, PropertyError> {
        let kind = key.primitive_data_type;
        let validation_data = key.validation_data.as_deref();
        if matches!(kind, PrimitiveType::None | PrimitiveType::Bool | PrimitiveType::Enum) {
            for (member, text) in [("min", &key.min), ("max", &key.max)] {
                if text.is_some() {
                    return Err(invalid(
                        member,
                        format!(
                            "is not used by {} keys; min and max apply to String, Json (characters), Set (items), Int, UInt, Long and DateTime",
                            kind.name()
                        ),
                    ));
                }
            }
        }
        let unused_validation_data = matches!(
            kind,
            PrimitiveType::None | PrimitiveType::Bool | PrimitiveType::Int | PrimitiveType::UInt | PrimitiveType::Long
        );
        if unused_validation_data && validation_data.is_some() {
            return Err(invalid(
                "validationData",
                format!(
                    "is not used by {} keys; it applies to String (a regular expression), DateTime (a format), Set and Enum (values separated by ';') and Json (a JSON schema)",
                    kind.name()
                ),
            ));
        }
        Ok(match kind {
            PrimitiveType::None => Rules::Any,
            PrimitiveType::Bool => Rules::Bool,
            PrimitiveType::Int | PrimitiveType::UInt | PrimitiveType::Long => {
                let min = integer_bound("min", key.min.as_deref(), kind)?;
                let max = integer_bound("max", key.max.as_deref(), kind)?;
                check_order(min.as_ref().map(|b| b.at), max.as_ref().map(|b| b.at), key)?;
                Rules::Integer { min, max }
            }
            PrimitiveType::String => Rules::String {
                count: counts(key, "characters")?,
                regex: validation_data.map(compile_regex).transpose()?,
            },
            PrimitiveType::DateTime => {
                let format =
                    DateFormat::read(validation_data.unwrap_or("o")).map_err(|why| invalid("validationData", why))?;
                let min = datetime_bound("min", key.min.as_deref())?;
                let max = datetime_bound("max", key.max.as_deref())?;
                check_order(min.as_ref().map(|b| b.at), max.as_ref().map(|b| b.at), key)?;
                Rules::DateTime { format, min, max }
            }
            PrimitiveType::Set => Rules::Set { items: items(validation_data, kind)?, count: counts(key, "items")? },
            PrimitiveType::Enum => Rules::Enum { items: items(validation_data, kind)? },
            PrimitiveType::Json => Rules::Json {
                count: counts(key, "characters")?,
                schema: validation_data.map(compile_schema).transpose()?,
            },
        })
    }
}

fn invalid(member: &str, reason: String) -> PropertyError {
    PropertyError::InvalidInput { member: member.to_owned(), reason }
}

fn parse_type(text: &str) -> Result<PrimitiveType, PropertyError> {
    PrimitiveType::parse(text).ok_or_else(|| {
        let names: Vec<&str> = PrimitiveType::ALL.iter().map(|t| t.name()).collect();
        invalid(
            "primitiveDataType",
            format!("{} is not a primitive data type; accepted: {}", shown(text), names.join(", ")),
        )
    })
}

fn parse_scope(text: &str) -> Result<Scope, PropertyError> {
    Scope::parse(text)
        .ok_or_else(|| invalid("scope", format!("{} is not a scope; accepted: {}", shown(text), scope_names())))
}

fn scope_names() -> String {
    Scope::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

fn check_chars(member: &str, text: Option<&str>, limit: usize) -> Result<(), PropertyError> {
    let actual = text.map_or(0, |t| t.chars().count());
    if actual > limit {
        return Err(PropertyError::LimitExceeded { member: member.to_owned(), limit, actual });
    }
    Ok(())
}

/// Quotes a value for a message, cut short so a long value does not drown the reason.
fn shown(text: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 60;
    if text.chars().count() <= SHOWN_CHARS_MAX {
        format!("'{text}'")
    } else {
        let head: String = text.chars().take(SHOWN_CHARS_MAX).collect();
        format!("'{head}…'")
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- integers ----

/// A whole number as .NET's integer parsing reads it (an optional sign and ASCII digits); numbers beyond `i128` saturate, so range checks still refuse them.
fn parse_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<i128>().unwrap_or(if text.starts_with('-') { i128::MIN } else { i128::MAX }))
}

fn integer_range(kind: PrimitiveType) -> (i128, i128) {
    match kind {
        PrimitiveType::Int => (i32::MIN.into(), i32::MAX.into()),
        PrimitiveType::UInt => (0, u32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

fn integer_accepted(kind: PrimitiveType) -> String {
    let (lowest, highest) = integer_range(kind);
    format!("a whole number from {lowest} to {highest}")
}

fn integer_bound(member: &str, text: Option<&str>, kind: PrimitiveType) -> Result<Option<Bound<i128>>, PropertyError> {
    let Some(text) = text else { return Ok(None) };
    let (lowest, highest) = integer_range(kind);
    match parse_integer(text.trim()) {
        Some(at) if (lowest..=highest).contains(&at) => Ok(Some(Bound { at, text: text.trim().to_owned() })),
        _ => Err(invalid(
            member,
            format!("{} is not a bound for {} keys; accepted: {}", shown(text), kind.name(), integer_accepted(kind)),
        )),
    }
}

fn check_order<T: PartialOrd>(min: Option<T>, max: Option<T>, key: &PropertyKey) -> Result<(), PropertyError> {
    if let (Some(low), Some(high)) = (min, max)
        && low > high
    {
        let (min, max) = (key.min.as_deref().unwrap_or(""), key.max.as_deref().unwrap_or(""));
        return Err(invalid(
            "max",
            format!("{} is less than min {}; accepted: max at least min", shown(max), shown(min)),
        ));
    }
    Ok(())
}

// ---- counts (String, Json, Set) ----

fn counts(key: &PropertyKey, unit: &str) -> Result<Counts, PropertyError> {
    let count = |member: &str, text: Option<&str>| -> Result<Option<u32>, PropertyError> {
        let Some(text) = text else { return Ok(None) };
        text.trim().parse::<u32>().map(Some).map_err(|_| {
            let kind = key.primitive_data_type.name();
            invalid(
                member,
                format!("{} is not a number of {unit}; {kind} keys accept a whole number from 0", shown(text)),
            )
        })
    };
    let min = count("min", key.min.as_deref())?;
    let max = count("max", key.max.as_deref())?;
    check_order(min, max, key)?;
    Ok(Counts { min, max })
}

// ---- String: regular expressions ----

/// Compiles a string key's regular expression as the 2018 service used it: single-line (`.` matches a newline) and case-insensitive, searched anywhere in the value (anchor it with `^…$` to match the whole value).
fn compile_regex(pattern: &str) -> Result<Regex, PropertyError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .dot_matches_new_line(true)
        .size_limit(REGEX_BYTES_MAX)
        .dfa_size_limit(REGEX_BYTES_MAX)
        .build()
        .map_err(|e| {
            invalid(
                "validationData",
                format!("{} is not a usable regular expression: {}", shown(pattern), regex_reason(&e)),
            )
        })
}

/// The one-line reason of a regex error (its syntax errors draw the pattern with a caret over several lines).
fn regex_reason(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => {
            let reason = text.lines().rev().find_map(|line| line.strip_prefix("error: ")).unwrap_or(text);
            format!("{reason} (look-around and back-references are not supported)")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!(
                "it compiles to more than {limit} bytes, the limit; simplify it (large repetition counts are the usual cause)"
            )
        }
        other => other.to_string(),
    }
}

// ---- Set and Enum: lists ----

fn items(validation_data: Option<&str>, kind: PrimitiveType) -> Result<Vec<String>, PropertyError> {
    let accepted = "values separated by ';', such as red;green;blue";
    let Some(list) = validation_data else {
        return Err(invalid("validationData", format!("is required for {} keys: {accepted}", kind.name())));
    };
    let mut items: Vec<String> = Vec::new();
    for (at, item) in list.split(';').map(str::trim).enumerate() {
        if item.is_empty() {
            return Err(invalid(
                "validationData",
                format!("item {} of {} is empty; accepted: {accepted}", at + 1, shown(list)),
            ));
        }
        if let Some(first) = items.iter().find(|i| i.eq_ignore_ascii_case(item)) {
            return Err(invalid(
                "validationData",
                format!("lists '{first}' and '{item}', the same value ignoring case; accepted: each value once"),
            ));
        }
        items.push(item.to_owned());
    }
    Ok(items)
}

// ---- Json: schemas ----

/// Where the key's schema is filed while compiling; nothing is ever loaded from it.
const SCHEMA_URL: &str = "urn:validationData";

/// Refuses every reference outside the schema: a key's author must not make the server read files or call out.
struct NoLoader;

impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(format!("'{url}' is outside the schema").into())
    }
}

/// Compiles a JSON key's schema; without `$schema` it is read as draft 7, the draft of the 2018 service's time (a `$schema` member picks draft 4, 6, 7, 2019-09 or 2020-12).
fn compile_schema(text: &str) -> Result<CompiledSchema, PropertyError> {
    let fail = |reason: String| invalid("validationData", reason);
    let document: Value = serde_json::from_str(text).map_err(|e| fail(format!("is not JSON: {e}")))?;
    check_schema_patterns(&document).map_err(fail)?;
    let mut compiler = boon::Compiler::new();
    compiler.use_loader(Box::new(NoLoader));
    compiler.set_default_draft(boon::Draft::V7);
    compiler.add_resource(SCHEMA_URL, document).map_err(|e| fail(format!("is not a JSON schema: {e}")))?;
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(SCHEMA_URL, &mut schemas).map_err(|e| fail(schema_reason(&e)))?;
    // A reference cycle that makes no progress (`{"$ref": "#"}`) compiles but fails every value; one probe finds it while the author is still there to fix it.
    if let Err(error) = schemas.validate(&Value::Null, index)
        && let Some(cycle) = ref_cycle(&error)
    {
        return Err(fail(format!("refers to itself without end: {cycle}")));
    }
    Ok(CompiledSchema { schemas, index })
}

/// Compiles every `pattern` and `patternProperties` name of a schema under `REGEX_BYTES_MAX` before `boon` compiles them without a limit of ours.
fn check_schema_patterns(value: &Value) -> Result<(), String> {
    let check = |pattern: &str| {
        RegexBuilder::new(pattern).size_limit(REGEX_BYTES_MAX).build().map(|_| ()).map_err(|e| {
            format!("has pattern {}, which is not a usable regular expression: {}", shown(pattern), regex_reason(&e))
        })
    };
    match value {
        Value::Object(members) => {
            for (member, inner) in members {
                match (member.as_str(), inner) {
                    ("pattern", Value::String(pattern)) => check(pattern)?,
                    ("patternProperties", Value::Object(patterns)) => {
                        for pattern in patterns.keys() {
                            check(pattern)?;
                        }
                    }
                    _ => {}
                }
                check_schema_patterns(inner)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_schema_patterns),
        _ => Ok(()),
    }
}

fn schema_reason(error: &boon::CompileError) -> String {
    match error {
        boon::CompileError::ValidationError { src, .. } => format!("is not a valid JSON schema: {}", leaf_message(src)),
        boon::CompileError::LoadUrlError { url, .. }
        | boon::CompileError::ParseUrlError { url, .. }
        | boon::CompileError::UnsupportedUrlScheme { url } => {
            format!("refers to '{url}'; a schema may only refer to its own parts (such as #/definitions/name)")
        }
        boon::CompileError::JsonPointerNotFound(at) | boon::CompileError::AnchorNotFound { reference: at, .. } => {
            format!("refers to '{}', which the schema does not have", at.trim_start_matches(SCHEMA_URL))
        }
        other => format!("is not a usable JSON schema: {}", other.to_string().replace(SCHEMA_URL, "the schema")),
    }
}

fn ref_cycle(error: &boon::ValidationError<'_, '_>) -> Option<String> {
    if let boon::ErrorKind::RefCycle { .. } = error.kind {
        return Some(error.kind.to_string().replace(SCHEMA_URL, ""));
    }
    error.causes.iter().find_map(ref_cycle)
}

/// The first innermost failure of a schema validation, which names the place and the broken rule.
fn leaf_message(error: &boon::ValidationError<'_, '_>) -> String {
    let mut leaf = error;
    while let Some(first) = leaf.causes.first() {
        leaf = first;
    }
    let location = leaf.instance_location.to_string();
    let mut out = String::new();
    if location.is_empty() {
        out.push_str("at the top level: ");
    } else {
        let _ = write!(out, "at '{location}': ");
    }
    let _ = write!(out, "{}", leaf.kind);
    out.replace(SCHEMA_URL, "")
}

// ---- DateTime: .NET formats and ISO 8601 bounds ----

/// A .NET date-time format, as far as this server reads them: the standard `o`, `s` and `u`, or a custom pattern.
#[derive(Clone, Debug)]
struct DateFormat {
    text: String,
    parts: Vec<DatePart>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DatePart {
    Field(DateField, Width),
    /// `f` to `fffffff`: exactly that many digits of a second.
    Fraction(usize),
    /// The `o` format's fraction: a `.` and 1 to 7 digits, or nothing.
    RoundTripFraction,
    /// `K`: `Z`, an offset `±HH:mm`, or nothing.
    OffsetK,
    /// `zzz`: an offset `±HH:mm`.
    Offset,
    Literal(char),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    Four,
    Two,
    OneOrTwo,
}

const FORMAT_ACCEPTED: &str = "o, s, u, or a custom pattern of yyyy, M or MM, d or dd, H or HH, m or mm, s or ss, f to fffffff, K, zzz and literal separators (quote letters: 'T')";

impl DateFormat {
    fn read(text: &str) -> Result<DateFormat, String> {
        use DateField::*;
        use DatePart::*;
        let date =
            [Field(Year, Width::Four), Literal('-'), Field(Month, Width::Two), Literal('-'), Field(Day, Width::Two)];
        let time =
            [Field(Hour, Width::Two), Literal(':'), Field(Minute, Width::Two), Literal(':'), Field(Second, Width::Two)];
        let parts = match text {
            "o" | "O" => [&date[..], &[Literal('T')], &time[..], &[RoundTripFraction, OffsetK]].concat(),
            "s" => [&date[..], &[Literal('T')], &time[..]].concat(),
            "u" => [&date[..], &[Literal(' ')], &time[..], &[Literal('Z')]].concat(),
            _ if text.chars().count() == 1 => {
                return Err(format!(
                    "{} is a .NET standard format that depends on a culture, which this server does not support; accepted: {FORMAT_ACCEPTED}",
                    shown(text)
                ));
            }
            _ => custom_format(text)?,
        };
        Ok(DateFormat { text: text.to_owned(), parts })
    }

    /// The instant a value in this format stands for; a value without an offset is taken as UTC.
    fn parse(&self, value: &str) -> Result<Timestamp, String> {
        let mismatch = || format!("does not have the key's date-time format '{}'", self.text);
        let mut rest = value;
        let (mut year, mut month, mut day, mut hour, mut minute, mut second) = (1, 1, 1, 0, 0, 0);
        let (mut nanos, mut offset) = (0, None);
        for part in &self.parts {
            match *part {
                DatePart::Field(field, width) => {
                    let (number, after) = take_digits(rest, width).ok_or_else(mismatch)?;
                    rest = after;
                    match field {
                        DateField::Year => year = number,
                        DateField::Month => month = number,
                        DateField::Day => day = number,
                        DateField::Hour => hour = number,
                        DateField::Minute => minute = number,
                        DateField::Second => second = number,
                    }
                }
                DatePart::Fraction(digits) => {
                    (nanos, rest) = take_fraction(rest, digits, digits).ok_or_else(mismatch)?;
                }
                DatePart::RoundTripFraction => {
                    if let Some(after) = rest.strip_prefix('.') {
                        (nanos, rest) = take_fraction(after, 1, 7).ok_or_else(mismatch)?;
                    }
                }
                DatePart::OffsetK => {
                    if let Some(after) = rest.strip_prefix('Z') {
                        offset = Some(0);
                        rest = after;
                    } else if rest.starts_with(['+', '-']) {
                        (offset, rest) = take_offset(rest).map(|(o, r)| (Some(o), r)).ok_or_else(mismatch)?;
                    }
                }
                DatePart::Offset => {
                    (offset, rest) = take_offset(rest).map(|(o, r)| (Some(o), r)).ok_or_else(mismatch)?;
                }
                DatePart::Literal(c) => rest = rest.strip_prefix(c).ok_or_else(mismatch)?,
            }
        }
        if !rest.is_empty() {
            return Err(mismatch());
        }
        if year == 0 {
            return Err("is not a date-time: years start at 0001".to_owned());
        }
        let not_real = |e: jiff::Error| format!("is not a date-time: {e}");
        let civil =
            civil::DateTime::new(year as i16, month as i8, day as i8, hour as i8, minute as i8, second as i8, nanos)
                .map_err(not_real)?;
        let offset = Offset::from_seconds(offset.unwrap_or(0)).map_err(not_real)?;
        offset.to_timestamp(civil).map_err(not_real)
    }
}

/// Reads a .NET custom date-time pattern; anything this server cannot parse values with is an error, not a literal.
fn custom_format(text: &str) -> Result<Vec<DatePart>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let run = chars[at..].iter().take_while(|&&d| d == c).count();
        let specifier: String = chars[at..at + run].iter().collect();
        let unsupported = || format!("'{specifier}' in {} is not supported; accepted: {FORMAT_ACCEPTED}", shown(text));
        let part = match c {
            'y' if run == 4 => DatePart::Field(DateField::Year, Width::Four),
            'M' | 'd' | 'H' | 'm' | 's' if run <= 2 => {
                let field = match c {
                    'M' => DateField::Month,
                    'd' => DateField::Day,
                    'H' => DateField::Hour,
                    'm' => DateField::Minute,
                    _ => DateField::Second,
                };
                DatePart::Field(field, if run == 1 { Width::OneOrTwo } else { Width::Two })
            }
            'f' if run <= 7 => DatePart::Fraction(run),
            'K' if run == 1 => DatePart::OffsetK,
            'z' if run == 3 => DatePart::Offset,
            'y' | 'M' | 'd' | 'H' | 'm' | 's' | 'f' | 'K' | 'z' | 'F' | 'g' | 'h' | 't' => return Err(unsupported()),
            '\'' | '"' => {
                let Some(length) = chars[at + 1..].iter().position(|&d| d == c) else {
                    return Err(format!("{} has a quote {c} that is not closed", shown(text)));
                };
                parts.extend(chars[at + 1..at + 1 + length].iter().map(|&d| DatePart::Literal(d)));
                at += length + 2;
                continue;
            }
            '\\' => {
                let Some(&escaped) = chars.get(at + 1) else {
                    return Err(format!("{} ends with a lone \\", shown(text)));
                };
                parts.push(DatePart::Literal(escaped));
                at += 2;
                continue;
            }
            // `%d` is .NET's way of writing the custom `d` alone; the `%` itself matches nothing.
            '%' => {
                at += 1;
                continue;
            }
            _ => {
                parts.push(DatePart::Literal(c));
                at += 1;
                continue;
            }
        };
        parts.push(part);
        at += run;
    }
    let mut seen: Vec<&str> = Vec::new();
    for part in &parts {
        let what = match part {
            DatePart::Field(DateField::Year, _) => "the year",
            DatePart::Field(DateField::Month, _) => "the month",
            DatePart::Field(DateField::Day, _) => "the day",
            DatePart::Field(DateField::Hour, _) => "the hour",
            DatePart::Field(DateField::Minute, _) => "the minute",
            DatePart::Field(DateField::Second, _) => "the second",
            DatePart::Fraction(_) | DatePart::RoundTripFraction => "the fraction of a second",
            DatePart::OffsetK | DatePart::Offset => "the offset",
            DatePart::Literal(_) => continue,
        };
        if seen.contains(&what) {
            return Err(format!("{} has {what} twice", shown(text)));
        }
        seen.push(what);
    }
    // Without a year .NET would take the current one, and this crate has no clock.
    if !seen.contains(&"the year") {
        return Err(format!("{} has no year; accepted: a pattern with yyyy", shown(text)));
    }
    Ok(parts)
}

fn take_digits(text: &str, width: Width) -> Option<(u32, &str)> {
    let available = text.bytes().take_while(u8::is_ascii_digit).count();
    let length = match width {
        Width::Four => 4,
        Width::Two => 2,
        Width::OneOrTwo => available.min(2),
    };
    if length == 0 || available < length {
        return None;
    }
    let (digits, rest) = text.split_at(length);
    Some((digits.parse().ok()?, rest))
}

/// Between `fewest` and `most` digits of a second (all that are there, up to `most`), as nanoseconds.
fn take_fraction(text: &str, fewest: usize, most: usize) -> Option<(i32, &str)> {
    let length = text.bytes().take_while(u8::is_ascii_digit).count().min(most);
    if length < fewest {
        return None;
    }
    let (digits, rest) = text.split_at(length);
    let scale = 10_i32.pow(9 - length as u32);
    Some((digits.parse::<i32>().ok()? * scale, rest))
}

/// `±HH:mm`, at most 14 hours as .NET allows, as seconds east of UTC.
fn take_offset(text: &str) -> Option<(i32, &str)> {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let rest = text.strip_prefix(['+', '-'])?;
    let (hours, rest) = take_digits(rest, Width::Two)?;
    let (minutes, rest) = take_digits(rest.strip_prefix(':')?, Width::Two)?;
    if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
        return None;
    }
    Some((sign * (hours as i32 * 3600 + minutes as i32 * 60), rest))
}

/// A DateTime key's `min` or `max`: an ISO 8601 date or date-time, taken as UTC when it has no offset.
fn datetime_bound(member: &str, text: Option<&str>) -> Result<Option<Bound<Timestamp>>, PropertyError> {
    let Some(text) = text else { return Ok(None) };
    let trimmed = text.trim();
    let at = trimmed.parse::<Timestamp>().ok().or_else(|| {
        let civil = trimmed.parse::<civil::DateTime>().ok()?;
        Offset::UTC.to_timestamp(civil).ok()
    });
    match at {
        Some(at) => Ok(Some(Bound { at, text: trimmed.to_owned() })),
        None => Err(invalid(
            member,
            format!(
                "{} is not an ISO 8601 date-time; accepted: for example 2018-06-01, 2018-06-01T08:00:00 or 2018-06-01T08:00:00Z",
                shown(text)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::json;

    use super::*;

    /// Creates a key from a request body and shows its retrieve shape, or the error.
    fn check_create(body: Value, expect: Expect) {
        let rendered = match PropertyKeyInput::from_json(&body).and_then(|input| PropertyKey::create(7, input)) {
            Ok(key) => key.to_json().to_string(),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&format!("{rendered}\n"));
    }

    /// Creates a key from `body` (with name, spaceId and scope filled in when missing) and validates each value; one line per value.
    fn check_values(body: Value, values: &[&str], expect: Expect) {
        let Value::Object(mut members) = body else { panic!("the body must be an object") };
        for (member, default) in [("name", "Key"), ("spaceId", "s1"), ("scope", "Spaces")] {
            members.entry(member).or_insert(json!(default));
        }
        let input = PropertyKeyInput::from_json(&Value::Object(members)).expect("the test's body has the right shape");
        let key = match PropertyKey::create(1, input) {
            Ok(key) => key,
            Err(e) => return expect.assert_eq(&format!("key error: {e}\n")),
        };
        let validator = key.validator().expect("a created key compiles");
        let mut out = String::new();
        for value in values {
            let outcome = validator.validate(value);
            assert_eq!(outcome, key.validate(value), "the validator and the key agree");
            let value = abridged(value);
            match outcome {
                Ok(normalised) => writeln!(out, "{value} -> {}", abridged(&normalised)),
                Err(e) => writeln!(out, "{value} error: {e}"),
            }
            .expect("writing to a string does not fail");
        }
        expect.assert_eq(&out);
    }

    /// A value as the snapshots show it: quoted, or its length and first characters when long.
    fn abridged(value: &str) -> String {
        let chars = value.chars().count();
        if chars <= 40 {
            format!("{value:?}")
        } else {
            format!("{:?}… ({chars} characters)", value.chars().take(10).collect::<String>())
        }
    }

    /// Creates a key, applies the update and shows the key afterwards with the update's outcome.
    fn check_update(body: Value, update: Value, expect: Expect) {
        let input = PropertyKeyInput::from_json(&body).expect("the test's body has the right shape");
        let mut key = PropertyKey::create(3, input).expect("the test's key is valid");
        let outcome = match PropertyKeyInput::from_json(&update).and_then(|input| key.update(input)) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&format!("{outcome}\n{}\n", key.to_json()));
    }

    /// Loads a stored record and shows whether it is accepted and whether it survives `to_json` unchanged.
    fn check_load(record: Value, expect: Expect) {
        let rendered = match PropertyKey::from_json(&record) {
            Some(key) => format!("loaded, round trip {}", if key.to_json() == record { "equal" } else { "differs" }),
            None => "refused".to_owned(),
        };
        expect.assert_eq(&format!("{rendered}\n"));
    }

    #[test]
    fn create_fills_defaults_and_keeps_the_given() {
        check_create(
            json!({"Name": "Age", "SpaceId": "s1", "Scope": "users"}),
            expect![[r#"
            {"id":7,"name":"Age","primitiveDataType":"None","category":"None","spaceId":"s1","scope":"Users"}
        "#]],
        );
        check_create(
            json!({"name": "Age_2", "primitiveDataType": "uint", "category": "People", "description": "years",
                   "spaceId": "s1", "scope": "SENSORS", "min": 0, "max": "120", "validationData": null, "extra": 1}),
            expect![[r#"
                {"id":7,"name":"Age_2","primitiveDataType":"UInt","category":"People","description":"years","spaceId":"s1","scope":"Sensors","min":"0","max":"120"}
            "#]],
        );
        // Empty optional constraints count as absent.
        check_create(
            json!({"name": "Color", "primitiveDataType": "String", "spaceId": "s1", "scope": "Devices", "validationData": "", "min": ""}),
            expect![[r#"
                {"id":7,"name":"Color","primitiveDataType":"String","category":"None","spaceId":"s1","scope":"Devices"}
            "#]],
        );
    }

    #[test]
    fn definition_errors() {
        let key = |extra: Value| {
            let mut body = json!({"name": "Key", "spaceId": "s1", "scope": "Spaces"});
            for (member, value) in extra.as_object().expect("an object") {
                body[member] = value.clone();
            }
            body
        };
        check_create(
            json!([]),
            expect![[r#"
            error: body: must be a JSON object, not an array
        "#]],
        );
        check_create(
            json!({"spaceId": "s1", "scope": "Spaces"}),
            expect![[r#"
            error: name: is required: 3 to 50 letters, digits or underscores
        "#]],
        );
        check_create(
            json!({"name": "Key", "scope": "Spaces"}),
            expect![[r#"
            error: spaceId: is required: the id of a space
        "#]],
        );
        check_create(
            json!({"name": "Key", "spaceId": "s1"}),
            expect![[r#"
            error: scope: is required; accepted: Spaces, Sensors, Users, Devices
        "#]],
        );
        check_create(
            key(json!({"name": "ab"})),
            expect![[r#"
            error: name: 'ab' is not 3 to 50 letters, digits or underscores
        "#]],
        );
        check_create(
            key(json!({"name": "has space"})),
            expect![[r#"
            error: name: 'has space' is not 3 to 50 letters, digits or underscores
        "#]],
        );
        check_create(
            key(json!({"name": 5})),
            expect![[r#"
            error: name: must be a string, not a number
        "#]],
        );
        check_create(
            key(json!({"Name": "Other"})),
            expect![[r#"
            error: name: is given twice (as 'name' and 'Name')
        "#]],
        );
        check_create(
            key(json!({"scope": "Space"})),
            expect![[r#"
            error: scope: 'Space' is not a scope; accepted: Spaces, Sensors, Users, Devices
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "Float"})),
            expect![[r#"
            error: primitiveDataType: 'Float' is not a primitive data type; accepted: None, String, Bool, Int, UInt, Long, DateTime, Json, Set, Enum
        "#]],
        );
        check_create(
            key(json!({"category": "abc"})),
            expect![[r#"
            error: category: 'abc' is 3 characters; accepted: 4 to 15 characters
        "#]],
        );
        check_create(
            key(json!({"spaceId": ""})),
            expect![[r#"
            error: spaceId: is empty; accepted: the id of a space
        "#]],
        );
        check_create(
            key(json!({"description": "d".repeat(4001)})),
            expect![[r#"
            error: description: 4001 characters is over the limit of 4000
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "String", "validationData": "a".repeat(2001)})),
            expect![[r#"
            error: validationData: 2001 characters is over the limit of 2000
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "Long", "min": "-100000000000000000000"})),
            expect![[r#"
            error: min: 22 characters is over the limit of 20
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "Bool", "min": "1"})),
            expect![[r#"
            error: min: is not used by Bool keys; min and max apply to String, Json (characters), Set (items), Int, UInt, Long and DateTime
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "Enum", "validationData": "a;b", "max": "1"})),
            expect![[r#"
            error: max: is not used by Enum keys; min and max apply to String, Json (characters), Set (items), Int, UInt, Long and DateTime
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "Int", "validationData": "x"})),
            expect![[r#"
            error: validationData: is not used by Int keys; it applies to String (a regular expression), DateTime (a format), Set and Enum (values separated by ';') and Json (a JSON schema)
        "#]],
        );
        check_create(
            key(json!({"primitiveDataType": "None", "validationData": "x"})),
            expect![[r#"
            error: validationData: is not used by None keys; it applies to String (a regular expression), DateTime (a format), Set and Enum (values separated by ';') and Json (a JSON schema)
        "#]],
        );
        check_create(
            key(json!({"min": true})),
            expect![[r#"
            error: min: must be a string, not a bool
        "#]],
        );
    }

    #[test]
    fn min_and_max_definitions() {
        let key = |kind: &str, min: Value, max: Value| json!({"name": "Key", "spaceId": "s1", "scope": "Spaces", "primitiveDataType": kind, "min": min, "max": max});
        check_create(
            key("Int", json!("2147483648"), Value::Null),
            expect![[r#"
            error: min: '2147483648' is not a bound for Int keys; accepted: a whole number from -2147483648 to 2147483647
        "#]],
        );
        check_create(
            key("UInt", json!(-1), Value::Null),
            expect![[r#"
            error: min: '-1' is not a bound for UInt keys; accepted: a whole number from 0 to 4294967295
        "#]],
        );
        check_create(
            key("Long", json!("1.5"), Value::Null),
            expect![[r#"
            error: min: '1.5' is not a bound for Long keys; accepted: a whole number from -9223372036854775808 to 9223372036854775807
        "#]],
        );
        check_create(
            key("Int", json!("10"), json!("5")),
            expect![[r#"
            error: max: '5' is less than min '10'; accepted: max at least min
        "#]],
        );
        check_create(
            key("String", json!("-1"), Value::Null),
            expect![[r#"
            error: min: '-1' is not a number of characters; String keys accept a whole number from 0
        "#]],
        );
        check_create(
            key("Set", json!("x"), Value::Null),
            expect![[r#"
            error: validationData: is required for Set keys: values separated by ';', such as red;green;blue
        "#]],
        );
        check_create(
            json!({"name": "Key", "spaceId": "s1", "scope": "Spaces", "primitiveDataType": "Set", "validationData": "a;b", "min": "two"}),
            expect![[r#"
                error: min: 'two' is not a number of items; Set keys accept a whole number from 0
            "#]],
        );
        check_create(
            key("Json", json!("3"), json!("2")),
            expect![[r#"
            error: max: '2' is less than min '3'; accepted: max at least min
        "#]],
        );
        check_create(
            key("DateTime", json!("yesterday"), Value::Null),
            expect![[r#"
            error: min: 'yesterday' is not an ISO 8601 date-time; accepted: for example 2018-06-01, 2018-06-01T08:00:00 or 2018-06-01T08:00:00Z
        "#]],
        );
        check_create(
            key("DateTime", json!("2018-06-02"), json!("2018-06-01T23:00:00Z")),
            expect![[r#"
            error: max: '2018-06-01T23:00:00Z' is less than min '2018-06-02'; accepted: max at least min
        "#]],
        );
        check_create(
            key("Int", json!(" -5 "), json!("+5")),
            expect![[r#"
            {"id":7,"name":"Key","primitiveDataType":"Int","category":"None","spaceId":"s1","scope":"Spaces","min":" -5 ","max":"+5"}
        "#]],
        );
    }

    #[test]
    fn none_takes_anything_up_to_the_limit() {
        let long = "x".repeat(451);
        let longest = "é".repeat(450);
        check_values(
            json!({}),
            &["", "anything at all", &longest, &long],
            expect![[r#"
            "" -> ""
            "anything at all" -> "anything at all"
            "éééééééééé"… (450 characters) -> "éééééééééé"… (450 characters)
            "xxxxxxxxxx"… (451 characters) error: value: 451 characters is over the limit of 450
        "#]],
        );
    }

    #[test]
    fn bool_is_lowercased() {
        check_values(
            json!({"primitiveDataType": "Bool"}),
            &["true", "FALSE", "True", " true", "yes", "1", ""],
            expect![[r#"
                "true" -> "true"
                "FALSE" -> "false"
                "True" -> "true"
                " true" error: value: ' true' is not a bool; accepted: true or false (property key 'Key', Bool)
                "yes" error: value: 'yes' is not a bool; accepted: true or false (property key 'Key', Bool)
                "1" error: value: '1' is not a bool; accepted: true or false (property key 'Key', Bool)
                "" error: value: '' is not a bool; accepted: true or false (property key 'Key', Bool)
            "#]],
        );
    }

    #[test]
    fn integers_are_trimmed_and_range_checked() {
        check_values(
            json!({"primitiveDataType": "Int"}),
            &[
                " 42 ",
                "-2147483648",
                "2147483647",
                "2147483648",
                "+7",
                "1.0",
                "1e3",
                "",
                "0x10",
                "99999999999999999999999999999999999999999",
            ],
            expect![[r#"
                " 42 " -> "42"
                "-2147483648" -> "-2147483648"
                "2147483647" -> "2147483647"
                "2147483648" error: value: '2147483648' is out of range; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
                "+7" -> "+7"
                "1.0" error: value: '1.0' is not a whole number; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
                "1e3" error: value: '1e3' is not a whole number; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
                "" error: value: '' is not a whole number; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
                "0x10" error: value: '0x10' is not a whole number; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
                "9999999999"… (41 characters) error: value: '99999999999999999999999999999999999999999' is out of range; accepted: a whole number from -2147483648 to 2147483647 (property key 'Key', Int)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "UInt"}),
            &["0", "-0", "-1", "4294967295", "4294967296"],
            expect![[r#"
                "0" -> "0"
                "-0" -> "-0"
                "-1" error: value: '-1' is out of range; accepted: a whole number from 0 to 4294967295 (property key 'Key', UInt)
                "4294967295" -> "4294967295"
                "4294967296" error: value: '4294967296' is out of range; accepted: a whole number from 0 to 4294967295 (property key 'Key', UInt)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "Long"}),
            &["9223372036854775807", "9223372036854775808", "-9223372036854775808"],
            expect![[r#"
                "9223372036854775807" -> "9223372036854775807"
                "9223372036854775808" error: value: '9223372036854775808' is out of range; accepted: a whole number from -9223372036854775808 to 9223372036854775807 (property key 'Key', Long)
                "-9223372036854775808" -> "-9223372036854775808"
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "int", "min": "0", "max": 120}),
            &["0", "120", "-1", "121", " 60\t"],
            expect![[r#"
                "0" -> "0"
                "120" -> "120"
                "-1" error: value: '-1' is less than the key's min 0 (property key 'Key', Int)
                "121" error: value: '121' is more than the key's max 120 (property key 'Key', Int)
                " 60\t" -> "60"
            "#]],
        );
    }

    #[test]
    fn strings_have_lengths_and_a_regex() {
        check_values(
            json!({"primitiveDataType": "String", "min": "2", "max": "4"}),
            &["ab", "abcd", "a", "abcde", "éé"],
            expect![[r#"
                "ab" -> "ab"
                "abcd" -> "abcd"
                "a" error: value: has 1 characters, fewer than the key's min 2 (property key 'Key', String)
                "abcde" error: value: has 5 characters, more than the key's max 4 (property key 'Key', String)
                "éé" -> "éé"
            "#]],
        );
        // Case-insensitive, `.` crosses newlines, and the pattern is searched, not anchored.
        check_values(
            json!({"primitiveDataType": "String", "validationData": "^room-\\d+.end$"}),
            &["ROOM-12\nend", "room-12xend", "room-x", "a room-1 end"],
            expect![[r#"
                "ROOM-12\nend" -> "ROOM-12\nend"
                "room-12xend" -> "room-12xend"
                "room-x" error: value: 'room-x' does not match the regular expression '^room-\d+.end$' (property key 'Key', String)
                "a room-1 end" error: value: 'a room-1 end' does not match the regular expression '^room-\d+.end$' (property key 'Key', String)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "String", "validationData": "b"}),
            &["abc", "ABC", "xyz"],
            expect![[r#"
                "abc" -> "abc"
                "ABC" -> "ABC"
                "xyz" error: value: 'xyz' does not match the regular expression 'b' (property key 'Key', String)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "String", "validationData": "(?=a)b"}),
            &[],
            expect![[r#"
            key error: validationData: '(?=a)b' is not a usable regular expression: look-around, including look-ahead and look-behind, is not supported (look-around and back-references are not supported)
        "#]],
        );
        check_values(
            json!({"primitiveDataType": "String", "validationData": "[a-"}),
            &[],
            expect![[r#"
            key error: validationData: '[a-' is not a usable regular expression: unclosed character class (look-around and back-references are not supported)
        "#]],
        );
        // Unicode `\w` under case-insensitive matching is large; a GUID pattern written with it is still an ordinary key.
        check_values(
            json!({"primitiveDataType": "String", "validationData": "^\\w{8}-\\w{4}-\\w{4}-\\w{4}-\\w{12}$"}),
            &[
                "0f8fad5b-d9cb-469f-a165-70867728950e",
                "0F8FAD5B-D9CB-469F-A165-70867728950E",
                "0f8fad5b-d9cb-469f-a165",
            ],
            expect![[r#"
                "0f8fad5b-d9cb-469f-a165-70867728950e" -> "0f8fad5b-d9cb-469f-a165-70867728950e"
                "0F8FAD5B-D9CB-469F-A165-70867728950E" -> "0F8FAD5B-D9CB-469F-A165-70867728950E"
                "0f8fad5b-d9cb-469f-a165" error: value: '0f8fad5b-d9cb-469f-a165' does not match the regular expression '^\w{8}-\w{4}-\w{4}-\w{4}-\w{12}$' (property key 'Key', String)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "String", "validationData": "^\\w{100}$"}),
            &[],
            expect![[r#"
                key error: validationData: '^\w{100}$' is not a usable regular expression: it compiles to more than 4194304 bytes, the limit; simplify it (large repetition counts are the usual cause)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "String", "validationData": "(\\w{100}){100}"}),
            &[],
            expect![[r#"
            key error: validationData: '(\w{100}){100}' is not a usable regular expression: it compiles to more than 4194304 bytes, the limit; simplify it (large repetition counts are the usual cause)
        "#]],
        );
    }

    #[test]
    fn sets_take_the_keys_case() {
        check_values(
            json!({"primitiveDataType": "Set", "validationData": "Red; Green ;blue", "min": "1", "max": "2"}),
            &["red", "GREEN;BLUE", " green ; red ", "red;green;blue", "", "purple", "red;red", "red;;blue"],
            expect![[r#"
                "red" -> "Red"
                "GREEN;BLUE" -> "Green;blue"
                " green ; red " -> "Green;Red"
                "red;green;blue" error: value: has 3 items, more than the key's max 2 (property key 'Key', Set)
                "" error: value: has 0 items, fewer than the key's min 1 (property key 'Key', Set)
                "purple" error: value: 'purple' is not one of the key's values; accepted: Red, Green, blue (property key 'Key', Set)
                "red;red" error: value: 'red;red' lists 'Red' twice (property key 'Key', Set)
                "red;;blue" error: value: 'red;;blue' has an empty item (property key 'Key', Set)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "Set", "validationData": "a;b"}),
            &[""],
            expect![[r#"
            "" -> ""
        "#]],
        );
        check_values(
            json!({"primitiveDataType": "Set", "validationData": "a;;b"}),
            &[],
            expect![[r#"
            key error: validationData: item 2 of 'a;;b' is empty; accepted: values separated by ';', such as red;green;blue
        "#]],
        );
        check_values(
            json!({"primitiveDataType": "Set", "validationData": "Red;blue;RED"}),
            &[],
            expect![[r#"
            key error: validationData: lists 'Red' and 'RED', the same value ignoring case; accepted: each value once
        "#]],
        );
    }

    #[test]
    fn enums_take_the_keys_case() {
        check_values(
            json!({"primitiveDataType": "Enum", "validationData": "purple;Blue;green"}),
            &["PURPLE", "blue", " Green ", "red", "blue;green", ""],
            expect![[r#"
                "PURPLE" -> "purple"
                "blue" -> "Blue"
                " Green " -> "green"
                "red" error: value: 'red' is not one of the key's values; accepted: purple, Blue, green (property key 'Key', Enum)
                "blue;green" error: value: 'blue;green' is not one of the key's values; accepted: purple, Blue, green (property key 'Key', Enum)
                "" error: value: '' is not one of the key's values; accepted: purple, Blue, green (property key 'Key', Enum)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "Enum"}),
            &[],
            expect![[r#"
            key error: validationData: is required for Enum keys: values separated by ';', such as red;green;blue
        "#]],
        );
    }

    #[test]
    fn json_values_and_schemas() {
        check_values(
            json!({"primitiveDataType": "Json", "max": "12"}),
            &["{\"a\": 1}", "[1, 2, 3, 4, 5]", "{a: 1}", "\"text\"", ""],
            expect![[r#"
                "{\"a\": 1}" -> "{\"a\": 1}"
                "[1, 2, 3, 4, 5]" error: value: has 15 characters, more than the key's max 12 (property key 'Key', Json)
                "{a: 1}" error: value: '{a: 1}' is not JSON: key must be a string at line 1 column 2 (property key 'Key', Json)
                "\"text\"" -> "\"text\""
                "" error: value: '' is not JSON: EOF while parsing a value at line 1 column 0 (property key 'Key', Json)
            "#]],
        );
        let schema = json!({
            "type": "object",
            "properties": {"floor": {"type": "integer", "minimum": 0}, "code": {"type": "string", "pattern": "^[A-Z]{2}$"}},
            "required": ["floor"],
            "definitions": {"unused": {"type": "null"}}
        });
        check_values(
            json!({"primitiveDataType": "Json", "validationData": schema.to_string()}),
            &[r#"{"floor": 3}"#, r#"{"floor": -1}"#, r#"{"code": "AB"}"#, r#"{"floor": 1, "code": "abc"}"#, "[]"],
            expect![[r#"
                "{\"floor\": 3}" -> "{\"floor\": 3}"
                "{\"floor\": -1}" error: value: does not match the key's JSON schema: at '/floor': must be >=0, but got -1 (property key 'Key', Json)
                "{\"code\": \"AB\"}" error: value: does not match the key's JSON schema: at the top level: missing properties 'floor' (property key 'Key', Json)
                "{\"floor\": 1, \"code\": \"abc\"}" error: value: does not match the key's JSON schema: at '/code': 'abc' does not match pattern '^[A-Z]{2}$' (property key 'Key', Json)
                "[]" error: value: does not match the key's JSON schema: at the top level: want object, but got array (property key 'Key', Json)
            "#]],
        );
        // Draft 7 unless the schema says otherwise: `items` as an array is a tuple in draft 7.
        check_values(
            json!({"primitiveDataType": "Json", "validationData": r#"{"items": [{"type": "string"}]}"#}),
            &[r#"["a", 1]"#, r#"[1]"#],
            expect![[r#"
                "[\"a\", 1]" -> "[\"a\", 1]"
                "[1]" error: value: does not match the key's JSON schema: at '/0': want string, but got number (property key 'Key', Json)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "Json", "validationData": r##"{"$ref": "#/definitions/n", "definitions": {"n": {"type": "number"}}}"##}),
            &["1.5", "\"x\""],
            expect![[r#"
                "1.5" -> "1.5"
                "\"x\"" error: value: does not match the key's JSON schema: at the top level: want number, but got string (property key 'Key', Json)
            "#]],
        );
    }

    /// Creates a Json key for each schema; one line per schema, `ok` or the error.
    fn check_schemas(schemas: &[&str], expect: Expect) {
        let mut out = String::new();
        for schema in schemas {
            let body = json!({"name": "Key", "spaceId": "s1", "scope": "Spaces", "primitiveDataType": "Json", "validationData": schema});
            let input = PropertyKeyInput::from_json(&body).expect("the test's body has the right shape");
            match PropertyKey::create(1, input) {
                Ok(_) => writeln!(out, "{schema} -> ok"),
                Err(e) => writeln!(out, "{schema} -> {e}"),
            }
            .expect("writing to a string does not fail");
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn json_schema_definition_errors() {
        check_schemas(
            &[
                "{type: 1}",
                r#"{"type": "strin"}"#,
                r#"{"minimum": "3"}"#,
                "[]",
                // `true` is a schema too, one every value matches.
                "true",
            ],
            expect![[r#"
                {type: 1} -> validationData: is not JSON: key must be a string at line 1 column 2
                {"type": "strin"} -> validationData: is not a valid JSON schema: at '/type': value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'
                {"minimum": "3"} -> validationData: is not a valid JSON schema: at '/minimum': want number, but got string
                [] -> validationData: is not a valid JSON schema: at the top level: want boolean or object, but got array
                true -> ok
            "#]],
        );
        // A schema never makes the server read a file or call out.
        check_schemas(
            &[
                r#"{"$ref": "http://example.com/schema.json"}"#,
                r#"{"$ref": "file:///etc/passwd"}"#,
                r#"{"$ref": "other.json"}"#,
                r#"{"$schema": "http://example.com/meta"}"#,
                r#"{"$schema": "http://json-schema.org/draft-04/schema#"}"#,
                r##"{"$ref": "#/definitions/missing"}"##,
                r##"{"$ref": "#"}"##,
                r##"{"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"}"##,
            ],
            expect![[r##"
                {"$ref": "http://example.com/schema.json"} -> validationData: refers to 'http://example.com/schema.json'; a schema may only refer to its own parts (such as #/definitions/name)
                {"$ref": "file:///etc/passwd"} -> validationData: refers to 'file:///etc/passwd'; a schema may only refer to its own parts (such as #/definitions/name)
                {"$ref": "other.json"} -> validationData: refers to 'other.json'; a schema may only refer to its own parts (such as #/definitions/name)
                {"$schema": "http://example.com/meta"} -> validationData: refers to 'http://example.com/meta'; a schema may only refer to its own parts (such as #/definitions/name)
                {"$schema": "http://json-schema.org/draft-04/schema#"} -> ok
                {"$ref": "#/definitions/missing"} -> validationData: refers to '#/definitions/missing', which the schema does not have
                {"$ref": "#"} -> validationData: refers to itself without end: both '/$ref' and '' resolve to # causing reference cycle
                {"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"} -> validationData: refers to itself without end: both '/$ref/$ref' and '/$ref' resolve to #/definitions/a causing reference cycle
            "##]],
        );
        // Patterns are held to the same size limit as a String key's regular expression; ECMA-only syntax is refused.
        check_schemas(
            &[
                r#"{"properties": {"a": {"pattern": "(\\w{100}){100}"}}}"#,
                r#"{"patternProperties": {"(": {}}}"#,
                r#"{"pattern": "[^]"}"#,
                r#"{"pattern": "\\cA"}"#,
                r#"{"pattern": "\\u0041\\d\\w\\s(?<name>x)"}"#,
                r#"{"format": "regex", "pattern": "\\p{L}"}"#,
            ],
            expect![[r#"
                {"properties": {"a": {"pattern": "(\\w{100}){100}"}}} -> validationData: has pattern '(\w{100}){100}', which is not a usable regular expression: it compiles to more than 4194304 bytes, the limit; simplify it (large repetition counts are the usual cause)
                {"patternProperties": {"(": {}}} -> validationData: has pattern '(', which is not a usable regular expression: unclosed group (look-around and back-references are not supported)
                {"pattern": "[^]"} -> validationData: has pattern '[^]', which is not a usable regular expression: unclosed character class (look-around and back-references are not supported)
                {"pattern": "\\cA"} -> validationData: has pattern '\cA', which is not a usable regular expression: unrecognized escape sequence (look-around and back-references are not supported)
                {"pattern": "\\u0041\\d\\w\\s(?<name>x)"} -> ok
                {"format": "regex", "pattern": "\\p{L}"} -> ok
            "#]],
        );
        // A schema that refers to itself while going deeper into the value is fine.
        check_values(
            json!({"primitiveDataType": "Json", "validationData": r##"{"properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}"##}),
            &[r#"{"children": [{"children": []}]}"#, r#"{"children": [{"children": [{"children": 5}]}]}"#],
            expect![[r#"
                "{\"children\": [{\"children\": []}]}" -> "{\"children\": [{\"children\": []}]}"
                "{\"children"… (47 characters) error: value: does not match the key's JSON schema: at '/children/0/children/0/children': want array, but got number (property key 'Key', Json)
            "#]],
        );
    }

    #[test]
    fn datetime_standard_formats() {
        check_values(
            json!({"primitiveDataType": "DateTime"}),
            &[
                "2018-06-01T08:30:00.0000000Z",
                "2018-06-01T08:30:00.1234567+02:00",
                "2018-06-01T08:30:00Z",
                "2018-06-01T08:30:00",
                "2018-06-01T08:30:00.12345678Z",
                "2018-06-01",
                "2018-02-30T00:00:00Z",
                "2018-06-01T08:30:00+15:00",
                "0000-01-01T00:00:00",
            ],
            expect![[r#"
                "2018-06-01T08:30:00.0000000Z" -> "2018-06-01T08:30:00.0000000Z"
                "2018-06-01T08:30:00.1234567+02:00" -> "2018-06-01T08:30:00.1234567+02:00"
                "2018-06-01T08:30:00Z" -> "2018-06-01T08:30:00Z"
                "2018-06-01T08:30:00" -> "2018-06-01T08:30:00"
                "2018-06-01T08:30:00.12345678Z" error: value: '2018-06-01T08:30:00.12345678Z' does not have the key's date-time format 'o' (property key 'Key', DateTime)
                "2018-06-01" error: value: '2018-06-01' does not have the key's date-time format 'o' (property key 'Key', DateTime)
                "2018-02-30T00:00:00Z" error: value: '2018-02-30T00:00:00Z' is not a date-time: parameter 'day' for `2018-02` is invalid, must be in range `1..=28` (property key 'Key', DateTime)
                "2018-06-01T08:30:00+15:00" error: value: '2018-06-01T08:30:00+15:00' does not have the key's date-time format 'o' (property key 'Key', DateTime)
                "0000-01-01T00:00:00" error: value: '0000-01-01T00:00:00' is not a date-time: years start at 0001 (property key 'Key', DateTime)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "s"}),
            &["2018-06-01T08:30:00", "2018-06-01T08:30:00Z", "2018-06-01 08:30:00"],
            expect![[r#"
                "2018-06-01T08:30:00" -> "2018-06-01T08:30:00"
                "2018-06-01T08:30:00Z" error: value: '2018-06-01T08:30:00Z' does not have the key's date-time format 's' (property key 'Key', DateTime)
                "2018-06-01 08:30:00" error: value: '2018-06-01 08:30:00' does not have the key's date-time format 's' (property key 'Key', DateTime)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "u"}),
            &["2018-06-01 08:30:00Z", "2018-06-01T08:30:00Z"],
            expect![[r#"
                "2018-06-01 08:30:00Z" -> "2018-06-01 08:30:00Z"
                "2018-06-01T08:30:00Z" error: value: '2018-06-01T08:30:00Z' does not have the key's date-time format 'u' (property key 'Key', DateTime)
            "#]],
        );
    }

    #[test]
    fn datetime_custom_formats() {
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "yyyy-MM-dd"}),
            &["2018-06-01", "2018-6-01", "2018-06-01T00:00:00", "2018-13-01"],
            expect![[r#"
                "2018-06-01" -> "2018-06-01"
                "2018-6-01" error: value: '2018-6-01' does not have the key's date-time format 'yyyy-MM-dd' (property key 'Key', DateTime)
                "2018-06-01T00:00:00" error: value: '2018-06-01T00:00:00' does not have the key's date-time format 'yyyy-MM-dd' (property key 'Key', DateTime)
                "2018-13-01" error: value: '2018-13-01' is not a date-time: parameter 'month' is not in the required range of 1..=12 (property key 'Key', DateTime)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "d/M/yyyy HH:mm:ss.fff"}),
            &["1/6/2018 08:30:00.250", "01/06/2018 23:59:59.999", "1/6/2018 08:30:00.25", "1/6/2018 24:00:00.000"],
            expect![[r#"
                "1/6/2018 08:30:00.250" -> "1/6/2018 08:30:00.250"
                "01/06/2018 23:59:59.999" -> "01/06/2018 23:59:59.999"
                "1/6/2018 08:30:00.25" error: value: '1/6/2018 08:30:00.25' does not have the key's date-time format 'd/M/yyyy HH:mm:ss.fff' (property key 'Key', DateTime)
                "1/6/2018 24:00:00.000" error: value: '1/6/2018 24:00:00.000' is not a date-time: parameter 'hour' is not in the required range of 0..=23 (property key 'Key', DateTime)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "yyyyMMdd'T'HHmmzzz"}),
            &["20180601T0830+02:00", "20180601T0830Z", "20180601T0830"],
            expect![[r#"
                "20180601T0830+02:00" -> "20180601T0830+02:00"
                "20180601T0830Z" error: value: '20180601T0830Z' does not have the key's date-time format 'yyyyMMdd'T'HHmmzzz' (property key 'Key', DateTime)
                "20180601T0830" error: value: '20180601T0830' does not have the key's date-time format 'yyyyMMdd'T'HHmmzzz' (property key 'Key', DateTime)
            "#]],
        );
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "yyyy\\.MM K"}),
            &["2018.06 Z", "2018.06 ", "2018.06 -05:30"],
            expect![[r#"
                "2018.06 Z" -> "2018.06 Z"
                "2018.06 " -> "2018.06 "
                "2018.06 -05:30" -> "2018.06 -05:30"
            "#]],
        );
        let check_format = |format: &str, expect: Expect| {
            check_values(json!({"primitiveDataType": "DateTime", "validationData": format}), &[], expect);
        };
        check_format(
            "d",
            expect![[r#"
            key error: validationData: 'd' is a .NET standard format that depends on a culture, which this server does not support; accepted: o, s, u, or a custom pattern of yyyy, M or MM, d or dd, H or HH, m or mm, s or ss, f to fffffff, K, zzz and literal separators (quote letters: 'T')
        "#]],
        );
        check_format(
            "dd MMM yyyy",
            expect![[r#"
            key error: validationData: 'MMM' in 'dd MMM yyyy' is not supported; accepted: o, s, u, or a custom pattern of yyyy, M or MM, d or dd, H or HH, m or mm, s or ss, f to fffffff, K, zzz and literal separators (quote letters: 'T')
        "#]],
        );
        check_format(
            "yy-MM-dd",
            expect![[r#"
            key error: validationData: 'yy' in 'yy-MM-dd' is not supported; accepted: o, s, u, or a custom pattern of yyyy, M or MM, d or dd, H or HH, m or mm, s or ss, f to fffffff, K, zzz and literal separators (quote letters: 'T')
        "#]],
        );
        check_format(
            "yyyy-MM-dd hh:mm tt",
            expect![[r#"
            key error: validationData: 'hh' in 'yyyy-MM-dd hh:mm tt' is not supported; accepted: o, s, u, or a custom pattern of yyyy, M or MM, d or dd, H or HH, m or mm, s or ss, f to fffffff, K, zzz and literal separators (quote letters: 'T')
        "#]],
        );
        check_format(
            "HH:mm",
            expect![[r#"
            key error: validationData: 'HH:mm' has no year; accepted: a pattern with yyyy
        "#]],
        );
        check_format(
            "yyyy-MM-dd dd",
            expect![[r#"
            key error: validationData: 'yyyy-MM-dd dd' has the day twice
        "#]],
        );
        check_format(
            "yyyy 'T",
            expect![[r#"
            key error: validationData: 'yyyy 'T' has a quote ' that is not closed
        "#]],
        );
    }

    #[test]
    fn datetime_min_and_max() {
        check_values(
            json!({"primitiveDataType": "DateTime", "validationData": "yyyy-MM-ddTHH:mmK", "min": "2018-06-01", "max": "2018-06-30T12:00+02"}),
            &[
                "2018-06-01T00:00Z",
                "2018-05-31T23:59Z",
                "2018-06-01T01:00+02:00",
                "2018-06-30T10:00Z",
                "2018-06-30T10:01Z",
                "2018-06-15T12:00",
            ],
            expect![[r#"
                "2018-06-01T00:00Z" -> "2018-06-01T00:00Z"
                "2018-05-31T23:59Z" error: value: '2018-05-31T23:59Z' is less than the key's min 2018-06-01 (property key 'Key', DateTime)
                "2018-06-01T01:00+02:00" error: value: '2018-06-01T01:00+02:00' is less than the key's min 2018-06-01 (property key 'Key', DateTime)
                "2018-06-30T10:00Z" -> "2018-06-30T10:00Z"
                "2018-06-30T10:01Z" error: value: '2018-06-30T10:01Z' is more than the key's max 2018-06-30T12:00+02 (property key 'Key', DateTime)
                "2018-06-15T12:00" -> "2018-06-15T12:00"
            "#]],
        );
    }

    #[test]
    fn update_changes_only_what_is_given() {
        let key = json!({"name": "Age", "primitiveDataType": "Int", "spaceId": "s1", "scope": "Users", "min": "0", "max": "120"});
        check_update(
            key.clone(),
            json!({"Description": "in years", "Max": "150", "category": "People"}),
            expect![[r#"
                ok
                {"id":3,"name":"Age","primitiveDataType":"Int","category":"People","description":"in years","spaceId":"s1","scope":"Users","min":"0","max":"150"}
            "#]],
        );
        check_update(
            key.clone(),
            json!({"min": ""}),
            expect![[r#"
            ok
            {"id":3,"name":"Age","primitiveDataType":"Int","category":"None","spaceId":"s1","scope":"Users","max":"120"}
        "#]],
        );
        // A refused update leaves the key as it was.
        check_update(
            key.clone(),
            json!({"description": "kept?", "max": "-5"}),
            expect![[r#"
            error: max: '-5' is less than min '0'; accepted: max at least min
            {"id":3,"name":"Age","primitiveDataType":"Int","category":"None","spaceId":"s1","scope":"Users","min":"0","max":"120"}
        "#]],
        );
        check_update(
            key.clone(),
            json!({"primitiveDataType": "Bool"}),
            expect![[r#"
            error: min: is not used by Bool keys; min and max apply to String, Json (characters), Set (items), Int, UInt, Long and DateTime
            {"id":3,"name":"Age","primitiveDataType":"Int","category":"None","spaceId":"s1","scope":"Users","min":"0","max":"120"}
        "#]],
        );
        check_update(
            key.clone(),
            json!({"primitiveDataType": "String", "scope": "devices", "name": "Age_Text"}),
            expect![[r#"
                ok
                {"id":3,"name":"Age_Text","primitiveDataType":"String","category":"None","spaceId":"s1","scope":"Devices","min":"0","max":"120"}
            "#]],
        );
        check_update(
            key,
            json!({"name": "no"}),
            expect![[r#"
            error: name: 'no' is not 3 to 50 letters, digits or underscores
            {"id":3,"name":"Age","primitiveDataType":"Int","category":"None","spaceId":"s1","scope":"Users","min":"0","max":"120"}
        "#]],
        );
    }

    #[test]
    fn records_round_trip_and_are_checked_on_load() {
        let key = |extra: Value| {
            let mut record = json!({"id": 4, "name": "Hair", "primitiveDataType": "Enum", "category": "People",
                                    "spaceId": "s1", "scope": "Users", "validationData": "purple;blue"});
            for (member, value) in extra.as_object().expect("an object") {
                record[member] = value.clone();
            }
            record
        };
        check_load(
            key(json!({})),
            expect![[r#"
            loaded, round trip equal
        "#]],
        );
        check_load(
            key(json!({"description": "colour"})),
            expect![[r#"
            loaded, round trip equal
        "#]],
        );
        check_load(
            key(json!({"id": -1})),
            expect![[r#"
            refused
        "#]],
        );
        check_load(
            key(json!({"scope": "Rooms"})),
            expect![[r#"
            refused
        "#]],
        );
        check_load(
            key(json!({"description": 5})),
            expect![[r#"
            refused
        "#]],
        );
        check_load(
            key(json!({"validationData": "purple;;blue"})),
            expect![[r#"
            refused
        "#]],
        );
        // Not the canonical shape (the API writes `Enum`, never `enum`).
        check_load(
            key(json!({"primitiveDataType": "enum"})),
            expect![[r#"
            refused
        "#]],
        );
    }
}
