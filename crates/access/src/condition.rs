//! The condition language of role permissions, as the 2018 service's `system/roles` writes it: comparisons of a resource's attributes (`@Resource.Type`, `@Resource.Category`) with `==`, `!=`, `Any_of {…}` and `!Exists`, joined by `&&` (binding tighter) and `||`, with parentheses.
//!
//! A comparison with an attribute the resource does not have is false, but `!=`, which is true; `!Exists @Resource.X` is true exactly when it does not have it.

use std::fmt;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition(Node);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Equals { attribute: String, value: String, negated: bool },
    AnyOf { attribute: String, values: Vec<String> },
    Missing(String),
}

/// Why a condition does not parse: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("condition at byte {offset}: {message}")]
pub struct ConditionError {
    pub offset: usize,
    pub message: String,
}

/// The deepest nesting of parentheses a condition may have.
const DEPTH_MAX: usize = 16;

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let mut parser = Parser { text, at: 0, depth: 0 };
        let node = parser.or()?;
        parser.skip_space();
        if parser.at < text.len() {
            return Err(parser.error("expected `&&`, `||` or the end of the condition"));
        }
        Ok(Condition(node))
    }

    /// Whether the condition holds for a resource whose attributes `attribute` gives (by name, such as `Type`).
    pub fn holds(&self, attribute: &dyn Fn(&str) -> Option<String>) -> bool {
        self.0.holds(attribute)
    }
}

impl Node {
    fn holds(&self, attribute: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Node::Or(nodes) => nodes.iter().any(|n| n.holds(attribute)),
            Node::And(nodes) => nodes.iter().all(|n| n.holds(attribute)),
            Node::Equals { attribute: name, value, negated } => match attribute(name) {
                Some(actual) => (actual == *value) != *negated,
                None => *negated,
            },
            Node::AnyOf { attribute: name, values } => attribute(name).is_some_and(|actual| values.contains(&actual)),
            Node::Missing(name) => attribute(name).is_none(),
        }
    }
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> ConditionError {
        ConditionError { offset: self.at, message: message.to_owned() }
    }

    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += self.text[self.at..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Node, ConditionError> {
        let mut nodes = vec![self.and()?];
        while self.eat("||") {
            nodes.push(self.and()?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::Or(nodes) })
    }

    fn and(&mut self) -> Result<Node, ConditionError> {
        let mut nodes = vec![self.unary()?];
        while self.eat("&&") {
            nodes.push(self.unary()?);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::And(nodes) })
    }

    fn unary(&mut self) -> Result<Node, ConditionError> {
        if self.eat("(") {
            self.depth += 1;
            if self.depth > DEPTH_MAX {
                return Err(self.error("parentheses nest too deeply"));
            }
            let node = self.or()?;
            if !self.eat(")") {
                return Err(self.error("expected `)`"));
            }
            self.depth -= 1;
            return Ok(node);
        }
        if self.eat("!") {
            if !self.eat("Exists") {
                return Err(self.error("expected `Exists` after `!`"));
            }
            return Ok(Node::Missing(self.attribute()?));
        }
        let attribute = self.attribute()?;
        if self.eat("==") {
            return Ok(Node::Equals { attribute, value: self.string()?, negated: false });
        }
        if self.eat("!=") {
            return Ok(Node::Equals { attribute, value: self.string()?, negated: true });
        }
        if self.eat("Any_of") {
            if !self.eat("{") {
                return Err(self.error("expected `{` after `Any_of`"));
            }
            let mut values = vec![self.string()?];
            while self.eat(",") {
                values.push(self.string()?);
            }
            if !self.eat("}") {
                return Err(self.error("expected `,` or `}`"));
            }
            return Ok(Node::AnyOf { attribute, values });
        }
        Err(self.error("expected `==`, `!=` or `Any_of`"))
    }

    fn attribute(&mut self) -> Result<String, ConditionError> {
        if !self.eat("@Resource.") {
            return Err(self.error("expected an attribute such as `@Resource.Type`"));
        }
        let name: String = self.text[self.at..].chars().take_while(char::is_ascii_alphanumeric).collect();
        if name.is_empty() {
            return Err(self.error("expected the attribute's name"));
        }
        self.at += name.len();
        Ok(name)
    }

    fn string(&mut self) -> Result<String, ConditionError> {
        if !self.eat("'") {
            return Err(self.error("expected a quoted value"));
        }
        let Some(end) = self.text[self.at..].find('\'') else {
            return Err(self.error("the quoted value does not end"));
        };
        let value = self.text[self.at..self.at + end].to_owned();
        self.at += end + 1;
        Ok(value)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::Condition;

    /// Whether `text` holds for each resource `(type, category)`, or why it does not parse.
    fn check(text: &str, resources: &[(&str, Option<&str>)], expect: Expect) {
        let shown = match Condition::parse(text) {
            Ok(condition) => resources
                .iter()
                .map(|(ty, category)| {
                    let attribute = |name: &str| match name {
                        "Type" => Some((*ty).to_owned()),
                        "Category" => category.map(str::to_owned),
                        _ => None,
                    };
                    format!("{ty}/{}: {}", category.unwrap_or("-"), condition.holds(&attribute))
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(err) => err.to_string(),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn the_documented_device_administrator_condition() {
        check(
            "@Resource.Type Any_of {'Device', 'Sensor'} || ( @Resource.Type == 'ExtendedType' && (!Exists @Resource.Category || @Resource.Category Any_of { 'DeviceType', 'SensorType' } ) )",
            &[
                ("Device", None),
                ("Space", None),
                ("ExtendedType", None),
                ("ExtendedType", Some("SensorType")),
                ("ExtendedType", Some("SpaceType")),
            ],
            expect![[r#"
                Device/-: true
                Space/-: false
                ExtendedType/-: true
                ExtendedType/SensorType: true
                ExtendedType/SpaceType: false"#]],
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_missing_attributes() {
        check(
            "@Resource.Type == 'Space' && @Resource.Category == 'Plain' || @Resource.Type Any_of {'Matcher'}",
            &[("Space", Some("Plain")), ("Space", None), ("Matcher", None)],
            expect![[r#"
                Space/Plain: true
                Space/-: false
                Matcher/-: true"#]],
        );
        check(
            "@Resource.Type != 'KeyStore'",
            &[("KeyStore", None), ("Space", None)],
            expect![[r#"
            KeyStore/-: false
            Space/-: true"#]],
        );
        check("@Resource.Category != 'X'", &[("Space", None)], expect!["Space/-: true"]);
    }

    #[test]
    fn errors_say_where() {
        check("@Resource.Type = 'Space'", &[], expect!["condition at byte 15: expected `==`, `!=` or `Any_of`"]);
        check("@Resource.Type == 'Space", &[], expect!["condition at byte 19: the quoted value does not end"]);
        check("(@Resource.Type == 'A'", &[], expect!["condition at byte 22: expected `)`"]);
        check("Type == 'A'", &[], expect!["condition at byte 0: expected an attribute such as `@Resource.Type`"]);
        check(
            &format!("{}@Resource.Type == 'A'{}", "(".repeat(20), ")".repeat(20)),
            &[],
            expect!["condition at byte 17: parentheses nest too deeply"],
        );
    }
}
