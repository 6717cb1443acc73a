//! The one error a parse can end with: a stable code, a position in the query text and a message a person can act on.
//!
//! It owns the catalogue of codes and the conversion from a byte offset to a line and column.
//! It does not decide which inputs are wrong; the lexer and parser do.

use std::fmt;

/// Why a query was rejected, and where.
///
/// Codes are stable once released: `Q01xx` are syntax errors (the input is not a query), `Q02xx` are limits
/// (the input is a query, but larger than the configured `Limits` allow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The stable code, for example `Q0101`; tests and clients match on it, never on the message.
    pub code: &'static str,
    /// Byte offset into the query text of the first character at fault.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: u32,
    /// 1-based column of `offset`, counted in characters, not bytes.
    pub column: u32,
    /// A sentence saying what was expected and what was found.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// An unexpected token, or a missing one.
pub(crate) const UNEXPECTED: &str = "Q0101";
/// A string literal without its closing quote.
pub(crate) const UNTERMINATED_STRING: &str = "Q0102";
/// A `[[` escaped name without its closing `]]`, or with nothing inside.
pub(crate) const BAD_ESCAPED_NAME: &str = "Q0103";
/// A character that starts no token.
pub(crate) const BAD_CHARACTER: &str = "Q0104";
/// A number that is malformed or does not fit.
pub(crate) const BAD_NUMBER: &str = "Q0105";
/// A MATCH hop count or range that selects nothing.
pub(crate) const BAD_HOPS: &str = "Q0106";
/// A clause after one it must precede, or a clause given twice.
pub(crate) const CLAUSE_ORDER: &str = "Q0107";
/// A known function called with the wrong number or kind of arguments.
pub(crate) const BAD_ARGUMENTS: &str = "Q0108";
/// Text left over after a complete query.
pub(crate) const TRAILING_INPUT: &str = "Q0109";
/// The query text is longer than `Limits::query_chars_max`.
pub(crate) const QUERY_TOO_LONG: &str = "Q0201";
/// More AND/OR operators than `Limits::and_or_max`.
pub(crate) const TOO_MANY_AND_OR: &str = "Q0202";
/// An IN/NIN list longer than `Limits::in_items_max`.
pub(crate) const TOO_MANY_IN_ITEMS: &str = "Q0203";
/// Expressions nested deeper than `Limits::depth_max`.
pub(crate) const TOO_DEEP: &str = "Q0204";

impl SyntaxError {
    /// An error at byte `offset` of `text`; the line and column are computed here so no caller gets them wrong.
    pub(crate) fn at(text: &str, offset: usize, code: &'static str, message: impl Into<String>) -> SyntaxError {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        SyntaxError {
            code,
            offset,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let e = SyntaxError::at("ab\n\u{e9}xy", 6, UNEXPECTED, "m");
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.to_string(), "line 2, column 3: m");
    }
}
