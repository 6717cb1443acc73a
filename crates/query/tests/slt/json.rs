//! The canonical text of a JSON row, the one form in which `.slt` files write expected rows and the database renders
//! actual ones, so that the runner's plain text comparison compares values: object members sorted by name, numbers
//! by value (`4`, `4.0` and `4e0` are all written `4`), `": "` and `", "` between items.
//!
//! A whole twin or relationship document may be written as a placeholder (`@twin(<id>)`, `@rel(<source>,<id>)`);
//! which objects become placeholders is the caller's decision (`render`'s `placeholder`), not this module's.

use serde_json::Value;

/// Writes `value` canonically; an object (or string) for which `placeholder` answers is written as that text.
pub(crate) fn render(value: &Value, placeholder: &dyn Fn(&Value) -> Option<String>, out: &mut String) {
    if let Some(text) = placeholder(value) {
        out.push_str(&text);
        return;
    }
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (name, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::from(name.as_str()).to_string());
                out.push_str(": ");
                render(member, placeholder, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(item, placeholder, out);
            }
            out.push(']');
        }
        Value::Number(number) => out.push_str(&number_text(number)),
        other => out.push_str(&other.to_string()),
    }
}

/// A number by value: integers as written, floats as Rust writes them, which is without a fraction when whole (`19`)
/// and never in exponent form, so a number reads the same whichever way the engine or the file spelled it.
fn number_text(number: &serde_json::Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    match number.as_f64() {
        // Minus zero equals zero (a float pattern matches both).
        Some(0.0) => "0".to_owned(),
        Some(f) => f.to_string(),
        None => number.to_string(),
    }
}

/// The canonical text of `value` with no placeholders.
pub(crate) fn canonical(value: &Value) -> String {
    let mut out = String::new();
    render(value, &|_| None, &mut out);
    out
}
