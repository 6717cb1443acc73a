//! JSON Patch (RFC 6902) with the operations Azure Digital Twins allows: `add`, `replace` and `remove`.
//!
//! Patches are applied to a copy; the caller validates the result and keeps it only if it is valid, so a failed patch changes nothing.
//! Which paths a patch may touch (properties, components, `$metadata`) is the caller's decision, not this module's.

use serde_json::{Map, Value};

use crate::error::{GraphError, Invalid};

/// One parsed patch operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub op: OpKind,
    /// The path as reference tokens (unescaped), never empty.
    pub path: Vec<String>,
    pub value: Option<Value>,
}

impl Operation {
    /// `add` of `value` at `path` (reference tokens, unescaped, at least one).
    pub fn add(path: &[&str], value: Value) -> Operation {
        Operation { op: OpKind::Add, path: path.iter().map(|token| (*token).to_owned()).collect(), value: Some(value) }
    }

    /// `remove` of what is at `path` (reference tokens, unescaped, at least one).
    pub fn remove(path: &[&str]) -> Operation {
        Operation { op: OpKind::Remove, path: path.iter().map(|token| (*token).to_owned()).collect(), value: None }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// Parses a JSON Patch document: an array of `{op, path, value?}` objects.
pub fn parse(document: &Value) -> Result<Vec<Operation>, GraphError> {
    let Value::Array(items) = document else {
        return Err(GraphError::invalid(
            Invalid::JsonPatchInvalid,
            "a JSON Patch document must be an array of operations",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(GraphError::invalid(Invalid::JsonPatchInvalid, format!("operation {i} must be an object")));
        };
        let op = match fields.get("op").and_then(Value::as_str) {
            Some("add") => OpKind::Add,
            Some("replace") => OpKind::Replace,
            Some("remove") => OpKind::Remove,
            Some(other) => {
                return Err(GraphError::invalid(
                    Invalid::JsonPatchInvalid,
                    format!("operation {i}: '{other}' is not supported; use add, replace or remove"),
                ));
            }
            None => {
                return Err(GraphError::invalid(Invalid::JsonPatchInvalid, format!("operation {i} has no \"op\"")));
            }
        };
        let Some(path) = fields.get("path").and_then(Value::as_str) else {
            return Err(GraphError::invalid(
                Invalid::JsonPatchInvalid,
                format!("operation {i} has no \"path\" string"),
            ));
        };
        let path = parse_pointer(path)
            .map_err(|why| GraphError::invalid(Invalid::JsonPatchInvalid, format!("operation {i}: {why}")))?;
        let value = fields.get("value").cloned();
        if op != OpKind::Remove && value.is_none() {
            return Err(GraphError::invalid(
                Invalid::JsonPatchInvalid,
                format!("operation {i} ({}) needs a \"value\"", op.as_str()),
            ));
        }
        out.push(Operation { op, path, value });
    }
    Ok(out)
}

/// Parses a JSON pointer (RFC 6901) into its tokens; the whole-document pointer `""` is not accepted.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("'{pointer}' is not a JSON pointer to a member (it must start with '/')"));
    };
    rest.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("'{pointer}' has an invalid escape")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Renders tokens back as a JSON pointer.
pub fn pointer(tokens: &[String]) -> String {
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        out.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Applies one operation to an object.
pub fn apply(target: &mut Map<String, Value>, op: &Operation) -> Result<(), GraphError> {
    let (last, parents) = op.path.split_last().expect("parse never yields an empty path");
    let fail = |why: &str| {
        GraphError::invalid(Invalid::JsonPatchInvalid, format!("{} {}: {why}", op.op.as_str(), pointer(&op.path)))
    };
    let mut current = target;
    for (depth, token) in parents.iter().enumerate() {
        let next =
            current.get_mut(token).ok_or_else(|| fail(&format!("'{}' does not exist", pointer(&op.path[..=depth]))))?;
        current = match next {
            Value::Object(map) => map,
            _ => return Err(fail(&format!("'{}' is not an object", pointer(&op.path[..=depth])))),
        };
    }
    match op.op {
        OpKind::Add => {
            current.insert(last.clone(), op.value.clone().unwrap_or(Value::Null));
        }
        OpKind::Replace => {
            let slot = current.get_mut(last).ok_or_else(|| fail("the value to replace does not exist"))?;
            *slot = op.value.clone().unwrap_or(Value::Null);
        }
        OpKind::Remove => {
            current.shift_remove(last).ok_or_else(|| fail("the value to remove does not exist"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::json;

    use super::*;

    fn check(start: Value, patch: Value, expect: Expect) {
        let Value::Object(mut doc) = start else { panic!("start must be an object") };
        let result = parse(&patch).and_then(|ops| ops.iter().try_for_each(|op| apply(&mut doc, op)));
        let rendered = match result {
            Ok(()) => Value::Object(doc).to_string(),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn add_replace_remove() {
        check(
            json!({"a": 1, "o": {"x": 1}}),
            json!([{"op": "add", "path": "/b", "value": 2}, {"op": "replace", "path": "/o/x", "value": 3}, {"op": "remove", "path": "/a"}]),
            expect![[r#"{"o":{"x":3},"b":2}"#]],
        );
    }

    #[test]
    fn errors_are_precise() {
        check(
            json!({}),
            json!([{"op": "move", "from": "/a", "path": "/b"}]),
            expect!["error: operation 0: 'move' is not supported; use add, replace or remove"],
        );
        check(
            json!({}),
            json!([{"op": "replace", "path": "/a", "value": 1}]),
            expect!["error: replace /a: the value to replace does not exist"],
        );
        check(
            json!({}),
            json!([{"op": "add", "path": "/a/b", "value": 1}]),
            expect!["error: add /a/b: '/a' does not exist"],
        );
        check(
            json!({"a": 1}),
            json!([{"op": "add", "path": "/a/b", "value": 1}]),
            expect!["error: add /a/b: '/a' is not an object"],
        );
        check(
            json!({}),
            json!([{"op": "add", "path": "a", "value": 1}]),
            expect!["error: operation 0: 'a' is not a JSON pointer to a member (it must start with '/')"],
        );
        check(json!({}), json!({"op": "add"}), expect!["error: a JSON Patch document must be an array of operations"]);
        check(
            json!({}),
            json!([{"op": "add", "path": "/a"}]),
            expect![[r#"error: operation 0 (add) needs a "value""#]],
        );
    }

    #[test]
    fn pointer_escapes_round_trip() {
        let tokens = parse_pointer("/a~1b/c~0d").unwrap();
        assert_eq!(tokens, vec!["a/b".to_owned(), "c~d".to_owned()]);
        assert_eq!(pointer(&tokens), "/a~1b/c~0d");
    }
}
