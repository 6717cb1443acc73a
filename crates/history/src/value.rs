//! `Value`, what a point holds, and its encoding as the bytes of a stored point.
//! The text is the value as the 2018 API's `value` carries it; the number, when there is one, is what `avg`, `min` and `max` use.
//! It does not decide which texts are numbers for the server beyond `Value::from_text`'s JSON number rule.
//!
//! A stored value is one format byte (`VALUE_FORMAT`, now `0x01`), one kind byte (`0x00`: text only; `0x01`: a number follows), the number as the 8 big-endian bytes of an IEEE 754 double when there is one, then the text as UTF-8 to the end.
//! Values are checked before encoding (a finite number, text within the limit) and again after decoding.

use crate::HistoryError;

/// The value of a point: its text, and a number when the value is numeric.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    text: String,
    /// Always finite: `Value::new` refuses NaN and infinities, and decoding treats them as corruption.
    number: Option<f64>,
}

impl Value {
    /// A value with the given text and numeric form; the number must be finite.
    /// The caller decides what is numeric: a motion sensor's `True`/`False` may be given 1 and 0 so that `avg` is the share of time with motion.
    pub fn new(text: impl Into<String>, number: Option<f64>) -> Result<Value, HistoryError> {
        if let Some(number) = number
            && !number.is_finite()
        {
            return Err(HistoryError::InvalidInput {
                what: format!("the number of a value must be finite, got {number}"),
            });
        }
        Ok(Value { text: text.into(), number })
    }

    /// A value whose number is read from its text when the text is a JSON number (`72`, `-0.5`, `1e3`) of finite size, and absent otherwise (`True`, `Occupied`, ` 72`, `+1`).
    pub fn from_text(text: impl Into<String>) -> Value {
        let text = text.into();
        let number = if is_json_number(&text) { text.parse::<f64>().ok().filter(|n| n.is_finite()) } else { None };
        Value { text, number }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn number(&self) -> Option<f64> {
        self.number
    }
}

/// The first byte of every stored value; a new encoding gets a new byte, and old ones stay readable.
pub(crate) const VALUE_FORMAT: u8 = 0x01;
const KIND_TEXT: u8 = 0x00;
const KIND_NUMBER: u8 = 0x01;

/// The stored bytes of a value.
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(2 + 8 + value.text.len());
    bytes.push(VALUE_FORMAT);
    match value.number {
        Some(number) => {
            bytes.push(KIND_NUMBER);
            bytes.extend_from_slice(&number.to_bits().to_be_bytes());
        }
        None => bytes.push(KIND_TEXT),
    }
    bytes.extend_from_slice(value.text.as_bytes());
    bytes
}

/// Reads stored bytes back into a value; `Corrupt`, naming `key`, when they are not what `encode` writes.
pub(crate) fn decode(bytes: &[u8], key: &str) -> Result<Value, HistoryError> {
    let (number, text) = parse(bytes, key)?;
    Ok(Value { text: text.to_owned(), number })
}

/// The number of stored bytes, after the same checks as `decode`, without copying the text.
pub(crate) fn decode_number(bytes: &[u8], key: &str) -> Result<Option<f64>, HistoryError> {
    parse(bytes, key).map(|(number, _)| number)
}

fn parse<'b>(bytes: &'b [u8], key: &str) -> Result<(Option<f64>, &'b str), HistoryError> {
    let corrupt = |why: &str| HistoryError::Corrupt { what: format!("history value of {key:?} {why}") };
    let (number, text) = match bytes {
        [VALUE_FORMAT, KIND_TEXT, text @ ..] => (None, text),
        [VALUE_FORMAT, KIND_NUMBER, rest @ ..] => {
            let (number, text) = rest.split_first_chunk::<8>().ok_or_else(|| corrupt("is too short for its number"))?;
            let number = f64::from_bits(u64::from_be_bytes(*number));
            if !number.is_finite() {
                return Err(corrupt("holds a number that is not finite"));
            }
            (Some(number), text)
        }
        [VALUE_FORMAT, ..] => return Err(corrupt("has a missing or unknown kind")),
        _ => return Err(corrupt("is not of a known value format")),
    };
    let text = std::str::from_utf8(text).map_err(|_| corrupt("has text that is not UTF-8"))?;
    Ok((number, text))
}

/// Whether `text` is a number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Reads `text` as `from_text` does, and checks that its encoding reads back to the same value.
    fn check_from_text(text: &str, expected: Expect) {
        let value = Value::from_text(text);
        let bytes = encode(&value);
        assert_eq!(decode(&bytes, "k").ok().as_ref(), Some(&value));
        expected.assert_eq(&format!("{:?} {:02x?}", value.number(), bytes));
    }

    /// The number `from_text` reads from each text, one per line.
    fn check_numbers(texts: &[&str], expected: Expect) {
        let lines: Vec<String> =
            texts.iter().map(|text| format!("{text:?}: {:?}", Value::from_text(*text).number())).collect();
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn numbers_from_text() {
        check_from_text("72", expect![[r#"Some(72.0) [01, 01, 40, 52, 00, 00, 00, 00, 00, 00, 37, 32]"#]]);
        check_from_text("-0.5", expect![[r#"Some(-0.5) [01, 01, bf, e0, 00, 00, 00, 00, 00, 00, 2d, 30, 2e, 35]"#]]);
        check_from_text("1e3", expect![[r#"Some(1000.0) [01, 01, 40, 8f, 40, 00, 00, 00, 00, 00, 31, 65, 33]"#]]);
        check_from_text("True", expect![[r#"None [01, 00, 54, 72, 75, 65]"#]]);
        check_from_text("", expect![[r#"None [01, 00]"#]]);
        // Only JSON numbers are numbers, although Rust's float parser takes more.
        check_numbers(
            &[" 72", "+1", "01", ".5", "5.", "1e", "inf", "NaN", "-", "0x10", "1_000", "0", "-0", "2.50E-1"],
            expect![[r#"
            " 72": None
            "+1": None
            "01": None
            ".5": None
            "5.": None
            "1e": None
            "inf": None
            "NaN": None
            "-": None
            "0x10": None
            "1_000": None
            "0": Some(0.0)
            "-0": Some(-0.0)
            "2.50E-1": Some(0.25)"#]],
        );
        // A JSON number too large for a double is text only.
        check_from_text("1e400", expect![[r#"None [01, 00, 31, 65, 34, 30, 30]"#]]);
    }

    fn check_new(text: &str, number: Option<f64>, expected: Expect) {
        let shown = match Value::new(text, number) {
            Ok(value) => format!("{value:?}"),
            Err(err) => err.to_string(),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn numbers_given() {
        check_new("True", Some(1.0), expect![[r#"Value { text: "True", number: Some(1.0) }"#]]);
        check_new("x", Some(f64::NAN), expect!["invalid input: the number of a value must be finite, got NaN"]);
        check_new("x", Some(f64::INFINITY), expect!["invalid input: the number of a value must be finite, got inf"]);
    }

    fn check_decode(bytes: &[u8], expected: Expect) {
        let shown = match decode(bytes, "s\0k") {
            Ok(value) => format!("{value:?}"),
            Err(err) => err.to_string(),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn decoding_checks_everything() {
        check_decode(b"\x01\x00Occupied", expect![[r#"Value { text: "Occupied", number: None }"#]]);
        check_decode(
            b"",
            expect![[r#"history data is corrupt: history value of "s\0k" is not of a known value format"#]],
        );
        check_decode(
            b"\x02\x00x",
            expect![[r#"history data is corrupt: history value of "s\0k" is not of a known value format"#]],
        );
        check_decode(
            b"\x01",
            expect![[r#"history data is corrupt: history value of "s\0k" has a missing or unknown kind"#]],
        );
        check_decode(
            b"\x01\x02x",
            expect![[r#"history data is corrupt: history value of "s\0k" has a missing or unknown kind"#]],
        );
        check_decode(
            b"\x01\x01\x00\x00",
            expect![[r#"history data is corrupt: history value of "s\0k" is too short for its number"#]],
        );
        check_decode(
            b"\x01\x01\x7f\xf8\x00\x00\x00\x00\x00\x00",
            expect![[r#"history data is corrupt: history value of "s\0k" holds a number that is not finite"#]],
        );
        check_decode(
            b"\x01\x00\xff",
            expect![[r#"history data is corrupt: history value of "s\0k" has text that is not UTF-8"#]],
        );
    }
}
