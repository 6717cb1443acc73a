//! The lexer: query text in, tokens with byte spans out.
//!
//! It owns the spelling of every token: words (keywords and names alike, `$`-prefixed metadata names included),
//! `[[escaped]]` names, single- and double-quoted strings with backslash escapes, numbers (negative, decimal, exponent)
//! and punctuation. It does not know which words are keywords or where a token may appear; the parser does.

use crate::error::{self, SyntaxError};

/// One token and the byte range of the query text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A bare word, the token's span of the text: a keyword or a name (`SELECT`, `T`, `$dtId`); the parser decides
    /// which. Its text is not copied, since most words are keywords.
    Word,
    /// The text between `[[` and `]]`: always a name, never a keyword.
    Escaped(String),
    /// A string literal's value, escapes resolved.
    Str(String),
    Int(i64),
    Float(f64),
    Star,
    Comma,
    Dot,
    DotDot,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Colon,
    Pipe,
    Minus,
    /// `->`; `<-` is not a token because `x<-5` means `x < -5`, so the parser joins `<` and `-` inside MATCH.
    Arrow,
    Eq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Eof,
}

/// Splits `text` into tokens, ending with one `Eof` token whose span is the end of the text.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut lexer = Lexer { text, bytes: text.as_bytes(), pos: 0, tokens: Vec::new() };
    lexer.run()?;
    Ok(lexer.tokens)
}

/// Whether `c` may start a bare word.
pub(crate) fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// Whether `c` may continue a bare word.
pub(crate) fn is_word_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<(), SyntaxError> {
        loop {
            self.skip_whitespace();
            let start = self.pos;
            let Some(&c) = self.bytes.get(start) else {
                self.push(TokenKind::Eof, start);
                return Ok(());
            };
            let next = self.bytes.get(start + 1).copied();
            let kind = match c {
                b'\'' | b'"' => self.string(c)?,
                b'[' if next == Some(b'[') => self.escaped()?,
                b'0'..=b'9' => self.number()?,
                b'-' if next.is_some_and(|n| n.is_ascii_digit()) => self.number()?,
                b'$' if next.is_some_and(is_word_start) => {
                    self.pos += 1;
                    self.word()
                }
                c if is_word_start(c) => self.word(),
                _ => self.punct(c, next)?,
            };
            self.push(kind, start);
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token { kind, start, end: self.pos });
    }

    fn skip_whitespace(&mut self) {
        // Unicode whitespace counts: the published examples contain U+202F (narrow no-break space) between tokens.
        let rest = &self.text[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    fn error(&self, offset: usize, code: &'static str, message: impl Into<String>) -> SyntaxError {
        SyntaxError::at(self.text, offset, code, message)
    }

    fn word(&mut self) -> TokenKind {
        let start = if self.bytes.get(self.pos.wrapping_sub(1)) == Some(&b'$') { self.pos - 1 } else { self.pos };
        while self.bytes.get(self.pos).is_some_and(|&c| is_word_continue(c)) {
            self.pos += 1;
        }
        debug_assert!(start < self.pos, "a word is never empty");
        TokenKind::Word
    }

    fn string(&mut self, quote: u8) -> Result<TokenKind, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    // `\'`, `\"` and `\\` stand for the character itself; any other backslash is kept as written,
                    // so Windows-like paths in values survive without doubling.
                    Some((_, e @ ('\'' | '"' | '\\'))) => value.push(e),
                    Some((_, e)) => {
                        value.push('\\');
                        value.push(e);
                    }
                    None => break,
                },
                c if c as u32 == u32::from(quote) => {
                    self.pos += i + 1;
                    return Ok(TokenKind::Str(value));
                }
                c => value.push(c),
            }
        }
        let q = quote as char;
        Err(self.error(
            start,
            error::UNTERMINATED_STRING,
            format!("this string has no closing {q}; end it with {q} (write \\{q} for a quote inside the string)"),
        ))
    }

    fn escaped(&mut self) -> Result<TokenKind, SyntaxError> {
        let start = self.pos;
        let body = start + 2;
        let Some(len) = self.text[body..].find("]]") else {
            return Err(self.error(start, error::BAD_ESCAPED_NAME, "this escaped name has no closing ]]"));
        };
        let name = &self.text[body..body + len];
        if name.is_empty() || name.contains('\n') {
            return Err(self.error(
                start,
                error::BAD_ESCAPED_NAME,
                "an escaped name needs at least one character and no line break between [[ and ]]",
            ));
        }
        self.pos = body + len + 2;
        Ok(TokenKind::Escaped(name.to_owned()))
    }

    fn number(&mut self) -> Result<TokenKind, SyntaxError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        self.digits();
        let mut float = false;
        // A '.' belongs to the number only when a digit follows, so `*1..3` lexes as 1, `..`, 3.
        if self.bytes.get(self.pos) == Some(&b'.') && self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            float = true;
            self.pos += 1;
            self.digits();
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            let mut p = self.pos + 1;
            if matches!(self.bytes.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if !self.bytes.get(p).is_some_and(u8::is_ascii_digit) {
                return Err(self.error(self.pos, error::BAD_NUMBER, "an exponent needs digits, as in 1.5e3"));
            }
            float = true;
            self.pos = p;
            self.digits();
        }
        if self.bytes.get(self.pos).is_some_and(|&c| is_word_continue(c)) {
            return Err(self.error(
                start,
                error::BAD_NUMBER,
                "a name cannot start with a digit; escape it as [[name]] (for example a map key like [[1st]])",
            ));
        }
        let text = &self.text[start..self.pos];
        if float {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(TokenKind::Float(v)),
                _ => Err(self.error(start, error::BAD_NUMBER, format!("the number {text} is too large"))),
            }
        } else {
            text.parse::<i64>().map(TokenKind::Int).map_err(|_| {
                self.error(
                    start,
                    error::BAD_NUMBER,
                    format!("the integer {text} does not fit in 64 bits; write it with a decimal point for a floating-point value"),
                )
            })
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn punct(&mut self, c: u8, next: Option<u8>) -> Result<TokenKind, SyntaxError> {
        let (kind, len) = match (c, next) {
            (b'.', Some(b'.')) => (TokenKind::DotDot, 2),
            (b'-', Some(b'>')) => (TokenKind::Arrow, 2),
            (b'!', Some(b'=')) => (TokenKind::NotEq, 2),
            (b'<', Some(b'=')) => (TokenKind::Le, 2),
            (b'>', Some(b'=')) => (TokenKind::Ge, 2),
            (b'*', _) => (TokenKind::Star, 1),
            (b',', _) => (TokenKind::Comma, 1),
            (b'.', _) => (TokenKind::Dot, 1),
            (b'(', _) => (TokenKind::LParen, 1),
            (b')', _) => (TokenKind::RParen, 1),
            (b'[', _) => (TokenKind::LBracket, 1),
            (b']', _) => (TokenKind::RBracket, 1),
            (b':', _) => (TokenKind::Colon, 1),
            (b'|', _) => (TokenKind::Pipe, 1),
            (b'-', _) => (TokenKind::Minus, 1),
            (b'=', _) => (TokenKind::Eq, 1),
            (b'<', _) => (TokenKind::Lt, 1),
            (b'>', _) => (TokenKind::Gt, 1),
            _ => {
                let ch = self.text[self.pos..].chars().next().unwrap_or('?');
                let hint = match ch {
                    '!' => "; did you mean != ?",
                    '$' => "; a metadata name is $ followed by letters, as in $dtId",
                    '@' => "; parameters are not supported, write the value itself",
                    _ => "",
                };
                return Err(self.error(self.pos, error::BAD_CHARACTER, format!("unexpected character '{ch}'{hint}")));
            }
        };
        self.pos += len;
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(text: &str, expected: Expect) {
        let actual = match tokenize(text) {
            Ok(tokens) => {
                let show = |t: &Token| match t.kind {
                    // A word's text is its span.
                    TokenKind::Word => format!("Word({:?})@{}..{}", &text[t.start..t.end], t.start, t.end),
                    _ => format!("{:?}@{}..{}", t.kind, t.start, t.end),
                };
                tokens.iter().map(show).collect::<Vec<_>>().join(" ")
            }
            Err(e) => format!("{} @{}: {}", e.code, e.offset, e.message),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn words_metadata_and_escapes() {
        check(
            "T.$dtId [[Group]] $metadata.$model",
            expect![[
                r#"Word("T")@0..1 Dot@1..2 Word("$dtId")@2..7 Escaped("Group")@8..17 Word("$metadata")@18..27 Dot@27..28 Word("$model")@28..34 Eof@34..34"#
            ]],
        );
    }

    #[test]
    fn strings_and_numbers() {
        check(
            r#"'D\'Souza' "x\"y" 'a\nb' -5 1.5e3 2E-2 x<-5"#,
            expect![[
                r#"Str("D'Souza")@0..10 Str("x\"y")@11..17 Str("a\\nb")@18..24 Int(-5)@25..27 Float(1500.0)@28..33 Float(0.02)@34..38 Word("x")@39..40 Lt@40..41 Int(-5)@41..43 Eof@43..43"#
            ]],
        );
    }

    #[test]
    fn match_punctuation_and_hop_ranges() {
        check(
            "(a)<-[*1..3]->(b)-[*..2]-",
            expect![
                "LParen@0..1 Word(\"a\")@1..2 RParen@2..3 Lt@3..4 Minus@4..5 LBracket@5..6 Star@6..7 Int(1)@7..8 DotDot@8..10 Int(3)@10..11 RBracket@11..12 Arrow@12..14 LParen@14..15 Word(\"b\")@15..16 RParen@16..17 Minus@17..18 LBracket@18..19 Star@19..20 DotDot@20..22 Int(2)@22..23 RBracket@23..24 Minus@24..25 Eof@25..25"
            ],
        );
    }

    #[test]
    fn errors() {
        check(
            "'abc",
            expect!["Q0102 @0: this string has no closing '; end it with ' (write \\' for a quote inside the string)"],
        );
        check("[[abc", expect!["Q0103 @0: this escaped name has no closing ]]"]);
        check(
            "x = @id",
            expect!["Q0104 @4: unexpected character '@'; parameters are not supported, write the value itself"],
        );
        check(
            "99999999999999999999",
            expect![
                "Q0105 @0: the integer 99999999999999999999 does not fit in 64 bits; write it with a decimal point for a floating-point value"
            ],
        );
        check("1e999", expect!["Q0105 @0: the number 1e999 is too large"]);
        check(
            "1st",
            expect![
                "Q0105 @0: a name cannot start with a digit; escape it as [[name]] (for example a map key like [[1st]])"
            ],
        );
    }
}
