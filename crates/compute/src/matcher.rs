//! The matcher engine of the 2018 API: conditions checked and compiled once (`Condition::new`, `Matcher::new`), then evaluated against the documents of a sensor, its device and its space, with the evaluation log `matchers/{id}/evaluate/{sensorId}?enableLogging=true` returns.
//!
//! A condition selects tokens from one document with a case-sensitive JSONPath (RFC 9535, through `serde_json_path`; the paths the 2018 samples use, such as `$.dataType` and `$.properties[?(@.name == 'Manufacturer')].value`, are RFC 9535 as written), serialises each selected token as compact JSON text, and compares that text with the condition's value ignoring case: `Equals` and `NotEquals` on the whole text, `Contains` as a substring.
//! So the value `"\"Motion\""` (a quoted JSON string) equals the string token `Motion`, while `$.port Contains "01"` finds `01` inside the text `"0103"`.
//! When a path selects several tokens, `Equals` and `Contains` hold when any of them does, and `NotEquals` is the negation of `Equals` (no selected token equals the value); when it selects none, `Equals` and `Contains` fail and `NotEquals` holds.
//! A matcher holds when all its conditions do (a matcher without conditions holds for every sensor).
//! This file does not decide which matchers apply to which sensor (a matcher's space subtree), build the documents, or store anything: the server does, and hands the documents in as `serde_json::Value`s.

use serde_json::Value;
use serde_json_path::JsonPath;

/// Conditions a matcher may have.
pub const CONDITIONS_MAX: usize = 100;

/// Characters of a condition's path.
pub const PATH_CHARS_MAX: usize = 1000;

/// Brackets and parentheses a path may nest; the JSONPath parser recurses once per level, so this bounds its stack.
pub const PATH_NESTING_MAX: usize = 32;

/// Characters of a condition's value.
pub const VALUE_CHARS_MAX: usize = 4000;

/// Characters of a selected token's text an evaluation log line shows; longer texts are cut, and the line says by how much.
pub const LOG_TOKEN_CHARS_MAX: usize = 500;

/// What a condition reads: the sensor's document, its device's, or its space's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Sensor,
    SensorDevice,
    SensorSpace,
}

/// How a condition compares the selected token's JSON text with its value, ignoring case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    Equals,
    NotEquals,
    Contains,
}

/// Why a condition or a matcher is refused; `Display` is the message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// `member` (`target`, `path`, `value`, `comparison`, `conditions`) is wrong; `message` says how.
    #[error("{message}")]
    InvalidInput { member: &'static str, message: String },
    /// `member` is longer (or has more items) than `limit`.
    #[error("`{member}` has {actual} {unit}; it takes at most {limit}")]
    LimitExceeded { member: &'static str, unit: &'static str, limit: usize, actual: usize },
}

impl MatcherError {
    /// The member of a condition or matcher at fault.
    pub fn member(&self) -> &'static str {
        match self {
            MatcherError::InvalidInput { member, .. } | MatcherError::LimitExceeded { member, .. } => member,
        }
    }
}

/// One condition of a matcher, its path compiled.
#[derive(Clone, Debug)]
pub struct Condition {
    id: String,
    target: Target,
    path: String,
    value: String,
    comparison: Comparison,
    /// `path`, compiled; made from it by `new` and never changed apart from it.
    selector: JsonPath,
    /// `value` in lower case, which selected texts are compared with.
    value_folded: String,
}

/// The documents a sensor is matched against, as `GET sensors/{id}?includes=properties,types`, `GET devices/{id}?includes=properties,types,sensors,sensorsproperties,sensorstypes` and `GET spaces/{id}?includes=properties,types,location,timezone` show them; `Value::Null` for one the sensor does not have (a path selects nothing from it).
#[derive(Clone, Copy, Debug)]
pub struct Documents<'a> {
    pub sensor: &'a Value,
    pub device: &'a Value,
    pub space: &'a Value,
}

/// The answer of `matchers/{id}/evaluate/{sensorId}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether every condition held.
    pub success: bool,
    /// One line per condition, in order, when logging was asked for (`$.dataType: "Motion" Equals "Motion" => True`); empty otherwise.
    pub logs: Vec<String>,
}

/// A matcher's conditions, checked and compiled: what a sensor is matched with.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    conditions: Vec<Condition>,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Sensor, Target::SensorDevice, Target::SensorSpace];

    pub fn name(self) -> &'static str {
        match self {
            Target::Sensor => "Sensor",
            Target::SensorDevice => "SensorDevice",
            Target::SensorSpace => "SensorSpace",
        }
    }

    /// The target named `text`, ignoring case.
    pub fn parse(text: &str) -> Result<Target, MatcherError> {
        Target::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(text.trim())).ok_or_else(|| {
            MatcherError::InvalidInput {
                member: "target",
                message: format!("`target` is `{text}`; it takes Sensor, SensorDevice or SensorSpace"),
            }
        })
    }
}

impl Comparison {
    pub const ALL: [Comparison; 3] = [Comparison::Equals, Comparison::NotEquals, Comparison::Contains];

    pub fn name(self) -> &'static str {
        match self {
            Comparison::Equals => "Equals",
            Comparison::NotEquals => "NotEquals",
            Comparison::Contains => "Contains",
        }
    }

    /// The comparison named `text`, ignoring case.
    pub fn parse(text: &str) -> Result<Comparison, MatcherError> {
        Comparison::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(text.trim())).ok_or_else(|| {
            MatcherError::InvalidInput {
                member: "comparison",
                message: format!("`comparison` is `{text}`; it takes Equals, NotEquals or Contains"),
            }
        })
    }
}

impl Condition {
    /// A condition, once its path compiles and its path and value are within their limits.
    pub fn new(
        id: impl Into<String>,
        target: Target,
        path: impl Into<String>,
        value: impl Into<String>,
        comparison: Comparison,
    ) -> Result<Condition, MatcherError> {
        let (path, value) = (path.into(), value.into());
        let selector = compile(&path)?;
        let value_chars = value.chars().count();
        if value_chars > VALUE_CHARS_MAX {
            return Err(MatcherError::LimitExceeded {
                member: "value",
                unit: "characters",
                limit: VALUE_CHARS_MAX,
                actual: value_chars,
            });
        }
        let value_folded = value.to_lowercase();
        Ok(Condition { id: id.into(), target, path, value, comparison, selector, value_folded })
    }

    /// `new` with the target and comparison given by name (ignoring case), as the API takes them.
    pub fn parse(id: &str, target: &str, path: &str, value: &str, comparison: &str) -> Result<Condition, MatcherError> {
        Condition::new(id, Target::parse(target)?, path, value, Comparison::parse(comparison)?)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// The path as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn comparison(&self) -> Comparison {
        self.comparison
    }

    /// Whether the condition holds for the sensor of `documents`.
    pub fn holds(&self, documents: &Documents<'_>) -> bool {
        self.check(documents, None)
    }

    /// Checks the condition; with `log`, adds its evaluation line.
    fn check(&self, documents: &Documents<'_>, log: Option<&mut Vec<String>>) -> bool {
        let document = documents.of(self.target);
        let nodes = self.selector.query(document);
        let texts: Vec<String> = nodes.iter().map(|token| token.to_string()).collect();
        let equal = || texts.iter().any(|text| text.to_lowercase() == self.value_folded);
        let held = match self.comparison {
            Comparison::Equals => equal(),
            Comparison::NotEquals => !equal(),
            Comparison::Contains => texts.iter().any(|text| text.to_lowercase().contains(&self.value_folded)),
        };
        if let Some(log) = log {
            let selected = match texts.as_slice() {
                [] => "(nothing)".to_owned(),
                texts => texts.iter().map(|t| shortened(t)).collect::<Vec<_>>().join(" | "),
            };
            let verdict = if held { "True" } else { "False" };
            log.push(format!("{}: {selected} {} {} => {verdict}", self.path, self.comparison.name(), self.value));
        }
        held
    }
}

impl Documents<'_> {
    /// The document a condition of `target` reads.
    pub fn of(&self, target: Target) -> &Value {
        match target {
            Target::Sensor => self.sensor,
            Target::SensorDevice => self.device,
            Target::SensorSpace => self.space,
        }
    }
}

impl Matcher {
    /// A matcher of `conditions`: at most `CONDITIONS_MAX`, their ids distinct.
    pub fn new(conditions: Vec<Condition>) -> Result<Matcher, MatcherError> {
        if conditions.len() > CONDITIONS_MAX {
            return Err(MatcherError::LimitExceeded {
                member: "conditions",
                unit: "items",
                limit: CONDITIONS_MAX,
                actual: conditions.len(),
            });
        }
        for (i, condition) in conditions.iter().enumerate() {
            if conditions[..i].iter().any(|c| c.id == condition.id) {
                return Err(MatcherError::InvalidInput {
                    member: "conditions",
                    message: format!("two conditions have the id '{}'; condition ids are distinct", condition.id),
                });
            }
        }
        Ok(Matcher { conditions })
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Whether some condition reads `target`'s document (the others need not be built).
    pub fn reads(&self, target: Target) -> bool {
        self.conditions.iter().any(|c| c.target == target)
    }

    /// Whether every condition holds; stops at the first that does not.
    pub fn matches(&self, documents: &Documents<'_>) -> bool {
        self.conditions.iter().all(|c| c.holds(documents))
    }

    /// The evaluation `matchers/{id}/evaluate` answers: with `logging`, every condition is checked and logged in order (so the log shows each one, even after one failed); without, it stops at the first that fails.
    pub fn evaluate(&self, documents: &Documents<'_>, logging: bool) -> Evaluation {
        if !logging {
            return Evaluation { success: self.matches(documents), logs: Vec::new() };
        }
        let mut logs = Vec::with_capacity(self.conditions.len());
        let mut success = true;
        for condition in &self.conditions {
            success &= condition.check(documents, Some(&mut logs));
        }
        Evaluation { success, logs }
    }
}

/// Compiles a path within its limits.
fn compile(path: &str) -> Result<JsonPath, MatcherError> {
    let chars = path.chars().count();
    if chars > PATH_CHARS_MAX {
        return Err(MatcherError::LimitExceeded {
            member: "path",
            unit: "characters",
            limit: PATH_CHARS_MAX,
            actual: chars,
        });
    }
    if path.trim().is_empty() {
        return Err(MatcherError::InvalidInput {
            member: "path",
            message: "`path` is empty; it takes a JSONPath such as `$.dataType`".to_owned(),
        });
    }
    let nesting = nesting(path);
    if nesting > PATH_NESTING_MAX {
        return Err(MatcherError::LimitExceeded {
            member: "path",
            unit: "levels of brackets and parentheses",
            limit: PATH_NESTING_MAX,
            actual: nesting,
        });
    }
    JsonPath::parse(path).map_err(|err| MatcherError::InvalidInput {
        member: "path",
        message: format!("`path` `{path}` is not a JSONPath (RFC 9535): {err}"),
    })
}

/// How deep brackets and parentheses nest in `path`, outside string literals; a rough bound, checked before the parser recurses into them.
fn nesting(path: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote = None;
    let mut escaped = false;
    for c in path.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' | '(' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ']' | ')' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    deepest
}

/// A selected token's text as a log line shows it: cut after `LOG_TOKEN_CHARS_MAX` characters.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(LOG_TOKEN_CHARS_MAX) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let more = text[cut..].chars().count();
            format!("{}…({more} more characters)", &text[..cut])
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::{Value, json};

    use super::{Condition, Documents, Matcher};

    /// The documents of the occupancy sample's motion sensor, its device and its room, as the 2018 face renders them.
    fn documents() -> (Value, Value, Value) {
        let sensor = json!({
            "id": "s-motion", "port": "0103", "pollRate": 3600, "hardwareId": "SAMPLE_SENSOR_MOTION",
            "dataType": "Motion", "dataTypeId": 27, "deviceId": "d-pi", "spaceId": "r-a1",
            "properties": [{"name": "Vendor", "value": "Contoso", "dataType": "String"}],
        });
        let device = json!({
            "id": "d-pi", "name": "Raspberry Pi 3 A1", "hardwareId": "1234567890AB", "spaceId": "r-a1",
            "properties": [{"name": "Manufacturer", "value": "GoodCorp", "dataType": "String"}],
            "sensors": [
                {"id": "s-motion", "dataType": "Motion", "properties": []},
                {"id": "s-co2", "dataType": "CarbonDioxide", "properties": []},
            ],
        });
        let space = json!({
            "id": "r-a1", "name": "Focus Room A1", "type": "Room", "typeId": 11008,
            "location": {"longitude": 8.5, "latitude": 47.4},
            "properties": [],
        });
        (sensor, device, space)
    }

    /// Builds a matcher of `conditions` (target, path, value, comparison) and shows its evaluation with logs, or why it is refused.
    fn check(conditions: &[(&str, &str, &str, &str)], expect: Expect) {
        let (sensor, device, space) = documents();
        let documents = Documents { sensor: &sensor, device: &device, space: &space };
        let built: Result<Vec<Condition>, _> = conditions
            .iter()
            .enumerate()
            .map(|(i, (target, path, value, comparison))| {
                Condition::parse(&format!("c{i}"), target, path, value, comparison)
            })
            .collect();
        let shown = match built.and_then(Matcher::new) {
            Ok(matcher) => {
                let evaluation = matcher.evaluate(&documents, true);
                assert_eq!(matcher.matches(&documents), evaluation.success, "with and without logs agree");
                assert!(matcher.evaluate(&documents, false).logs.is_empty());
                format!("success: {}\n{}", evaluation.success, evaluation.logs.join("\n"))
            }
            Err(err) => format!("refused ({}): {err}", err.member()),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn the_documented_log_line_and_json_text_comparison() {
        check(
            &[("Sensor", "$.dataType", "\"Motion\"", "Equals")],
            expect![[r#"
                success: true
                $.dataType: "Motion" Equals "Motion" => True"#]],
        );
        // The sample's first, unquoted value compares with the text `"Motion"`, quotes included, so it fails.
        check(
            &[("Sensor", "$.dataType", "Motion", "Equals")],
            expect![[r#"
                success: false
                $.dataType: "Motion" Equals Motion => False"#]],
        );
        check(
            &[("sensor", "$.dataType", "\"MOTION\"", "equals"), ("Sensor", "$.pollRate", "3600", "EQUALS")],
            expect![[r#"
                success: true
                $.dataType: "Motion" Equals "MOTION" => True
                $.pollRate: 3600 Equals 3600 => True"#]],
        );
    }

    #[test]
    fn the_documented_example_matcher_reads_all_three_documents() {
        check(
            &[
                ("Sensor", "$.dataType", "\"Motion\"", "Equals"),
                ("Sensor", "$.port", "01", "Contains"),
                ("SensorDevice", "$.properties[?(@.name == 'Manufacturer')].value", "\"GoodCorp\"", "Equals"),
                ("SensorSpace", "$.type", "\"Venue\"", "Equals"),
            ],
            expect![[r#"
                success: false
                $.dataType: "Motion" Equals "Motion" => True
                $.port: "0103" Contains 01 => True
                $.properties[?(@.name == 'Manufacturer')].value: "GoodCorp" Equals "GoodCorp" => True
                $.type: "Room" Equals "Venue" => False"#]],
        );
    }

    #[test]
    fn paths_are_case_sensitive_and_select_members_indexes_and_wildcards() {
        check(
            &[
                ("Sensor", "$.DataType", "\"Motion\"", "Equals"),
                ("SensorSpace", "$.location.latitude", "47.4", "Equals"),
                ("SensorDevice", "$.sensors[1].dataType", "carbon", "Contains"),
                ("SensorDevice", "$.sensors[-1].id", "\"s-co2\"", "Equals"),
                ("SensorDevice", "$.sensors[*].dataType", "\"CarbonDioxide\"", "Equals"),
                ("SensorDevice", "$..dataType", "\"Temperature\"", "NotEquals"),
                ("SensorSpace", "$.location", "{\"longitude\":8.5,\"latitude\":47.4}", "Equals"),
                ("Sensor", "$.properties[?@.name == 'vendor'].value", "\"Contoso\"", "NotEquals"),
            ],
            expect![[r#"
                success: false
                $.DataType: (nothing) Equals "Motion" => False
                $.location.latitude: 47.4 Equals 47.4 => True
                $.sensors[1].dataType: "CarbonDioxide" Contains carbon => True
                $.sensors[-1].id: "s-co2" Equals "s-co2" => True
                $.sensors[*].dataType: "Motion" | "CarbonDioxide" Equals "CarbonDioxide" => True
                $..dataType: "String" | "Motion" | "CarbonDioxide" NotEquals "Temperature" => True
                $.location: {"longitude":8.5,"latitude":47.4} Equals {"longitude":8.5,"latitude":47.4} => True
                $.properties[?@.name == 'vendor'].value: (nothing) NotEquals "Contoso" => True"#]],
        );
    }

    #[test]
    fn not_equals_fails_when_any_selected_token_equals() {
        check(
            &[("SensorDevice", "$.sensors[*].dataType", "\"motion\"", "NotEquals")],
            expect![[r#"
                success: false
                $.sensors[*].dataType: "Motion" | "CarbonDioxide" NotEquals "motion" => False"#]],
        );
        check(
            &[("SensorDevice", "$.gatewayId", "x", "Contains")],
            expect![[r#"
                success: false
                $.gatewayId: (nothing) Contains x => False"#]],
        );
    }

    #[test]
    fn a_matcher_without_conditions_holds_and_missing_documents_select_nothing() {
        check(&[], expect!["success: true\n"]);
        let sensor = json!({"dataType": "Motion"});
        let documents = Documents { sensor: &sensor, device: &Value::Null, space: &Value::Null };
        let matcher = Matcher::new(vec![
            Condition::parse("a", "Sensor", "$.dataType", "\"Motion\"", "Equals").expect("valid"),
            Condition::parse("b", "SensorSpace", "$.type", "\"Room\"", "NotEquals").expect("valid"),
        ])
        .expect("valid");
        assert!(matcher.matches(&documents));
        assert!(matcher.reads(super::Target::SensorSpace) && !matcher.reads(super::Target::SensorDevice));
    }

    #[test]
    fn bad_conditions_are_refused_naming_the_member() {
        let long_path = format!("$.{}", "a".repeat(super::PATH_CHARS_MAX));
        let deep_path = format!("$[?{}@.a{}]", "(".repeat(40), ")".repeat(40));
        let long_value = "v".repeat(super::VALUE_CHARS_MAX + 1);
        let cases = [
            ("Room", "$.dataType", "x", "Equals"),
            ("Sensor", "$.dataType", "x", "Like"),
            ("Sensor", "dataType", "x", "Equals"),
            ("Sensor", "$.properties[?(@.name = 'x')]", "x", "Equals"),
            ("Sensor", "$.a[", "x", "Equals"),
            ("Sensor", " ", "x", "Equals"),
            ("Sensor", &long_path, "x", "Equals"),
            ("Sensor", &deep_path, "x", "Equals"),
            ("Sensor", "$.a", &long_value, "Equals"),
        ];
        let lines: Vec<String> = cases
            .iter()
            .map(|(target, path, value, comparison)| match Condition::parse("c", target, path, value, comparison) {
                Ok(_) => "accepted".to_owned(),
                Err(err) => format!("{}: {err}", err.member()),
            })
            .collect();
        expect![[r#"
            target: `target` is `Room`; it takes Sensor, SensorDevice or SensorSpace
            comparison: `comparison` is `Like`; it takes Equals, NotEquals or Contains
            path: `path` `dataType` is not a JSONPath (RFC 9535): at position 0, parser error
            path: `path` `$.properties[?(@.name = 'x')]` is not a JSONPath (RFC 9535): at position 14, in long-hand segment, parser error
            path: `path` `$.a[` is not a JSONPath (RFC 9535): at position 3, parser error
            path: `path` is empty; it takes a JSONPath such as `$.dataType`
            path: `path` has 1002 characters; it takes at most 1000
            path: `path` has 41 levels of brackets and parentheses; it takes at most 32
            value: `value` has 4001 characters; it takes at most 4000"#]]
        .assert_eq(&lines.join("\n"));
    }

    #[test]
    fn the_deepest_nesting_allowed_parses() {
        let path =
            format!("$[?{}@.a{}]", "(".repeat(super::PATH_NESTING_MAX - 1), ")".repeat(super::PATH_NESTING_MAX - 1));
        assert!(Condition::parse("c", "Sensor", &path, "x", "Equals").is_ok(), "{path}");
    }

    #[test]
    fn condition_ids_are_distinct_and_their_number_bounded() {
        let condition = |id: &str| Condition::parse(id, "Sensor", "$.a", "1", "Equals").expect("valid");
        let refused = Matcher::new(vec![condition("x"), condition("y"), condition("x")]).expect_err("a repeated id");
        expect!["two conditions have the id 'x'; condition ids are distinct"].assert_eq(&refused.to_string());
        let many = (0..=super::CONDITIONS_MAX).map(|i| condition(&i.to_string())).collect();
        let refused = Matcher::new(many).expect_err("too many");
        expect!["`conditions` has 101 items; it takes at most 100"].assert_eq(&refused.to_string());
    }

    #[test]
    fn long_tokens_are_cut_in_the_log_only() {
        let sensor = json!({"note": "é".repeat(super::LOG_TOKEN_CHARS_MAX + 10)});
        let documents = Documents { sensor: &sensor, device: &Value::Null, space: &Value::Null };
        let condition = Condition::parse("c", "Sensor", "$.note", "ééé\"", "Contains").expect("valid");
        let evaluation = Matcher::new(vec![condition]).expect("valid").evaluate(&documents, true);
        assert!(evaluation.success, "the whole text is compared");
        let line = &evaluation.logs[0];
        assert!(line.ends_with("…(12 more characters) Contains ééé\" => True"), "{line}");
    }
}
