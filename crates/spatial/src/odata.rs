//! The OData query options of the 2018 management face (`/management/api/v1.0/`): `$filter`, `$orderby`, `$top` and `$skip`, parsed from a request's query pairs and applied to the JSON objects a collection returns.
//!
//! It implements the subset the 2018 service documented and its samples used: comparisons, `and`/`or`/`not`, a few string functions, and guid and datetime literals, with the case-insensitive string semantics of the service's SQL collation.
//! It refuses `$count`, `$expand` and `$search` as the service did, and has no arithmetic, lambdas or `$select`.
//! It knows nothing about HTTP, navigation parameters or permissions: the server applies it to objects it has already selected and filtered by permission.
//! Parsing and evaluation recurse only as deep as the text nests, which `FILTER_DEPTH_MAX` bounds.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::iter::Peekable;
use std::vec;

use serde_json::Value;

/// The longest `$filter` or `$orderby` text accepted, in characters.
pub const TEXT_CHARS_MAX: usize = 4_000;

/// The deepest a `$filter` may nest; each parenthesis, `not` and function call adds a level.
pub const FILTER_DEPTH_MAX: usize = 32;

/// The OData query options of one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOptions {
    /// `$filter`: which objects to keep; `None` keeps all of them.
    pub filter: Option<Filter>,
    /// `$orderby`: the sort keys, most significant first; empty keeps the order the objects came in.
    pub order_by: Vec<OrderKey>,
    /// `$top`: at most this many objects, counted after `$skip`.
    pub top: Option<usize>,
    /// `$skip`: how many objects to drop after filtering and ordering.
    pub skip: usize,
}

impl QueryOptions {
    /// Reads the options from a request's (percent-decoded) query pairs.
    ///
    /// Names are matched ignoring case and only with their `$`; other names (navigation parameters, `includes`) are left to the caller.
    /// `$count`, `$expand` and `$search` are refused, as the 2018 service refused them, and so is an option given twice.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<QueryOptions, ODataError> {
        let mut options = QueryOptions::default();
        let mut given = Vec::new();
        for (name, value) in pairs {
            if let Some(refused) = REFUSED.into_iter().find(|refused| name.eq_ignore_ascii_case(refused)) {
                return Err(ODataError::NotSupported { option: refused });
            }
            let Some(option) = Known::ALL.into_iter().find(|known| name.eq_ignore_ascii_case(known.name())) else {
                continue;
            };
            if given.contains(&option) {
                return Err(ODataError::InvalidInput {
                    option: option.name(),
                    message: "given more than once; give each query option at most once".to_owned(),
                });
            }
            given.push(option);
            match option {
                Known::Filter => options.filter = Some(Filter::parse(value)?),
                Known::OrderBy => options.order_by = parse_order_by(value)?,
                Known::Top => options.top = Some(parse_count(option.name(), value)?),
                Known::Skip => options.skip = parse_count(option.name(), value)?,
            }
        }
        Ok(options)
    }

    /// Applies the filter, then the order, then `$skip`, then `$top`.
    ///
    /// The objects are JSON objects in camelCase as the management face returns them; property paths match their member names ignoring case.
    /// The sort is stable, so objects with equal keys keep the order they came in.
    pub fn apply(&self, objects: Vec<Value>) -> Vec<Value> {
        let mut kept = objects;
        if let Some(filter) = &self.filter {
            kept.retain(|object| filter.matches(object));
        }
        if !self.order_by.is_empty() {
            kept.sort_by(|a, b| compare_by_keys(&self.order_by, a, b));
        }
        kept.drain(..self.skip.min(kept.len()));
        if let Some(top) = self.top {
            kept.truncate(top);
        }
        kept
    }

    /// Whether no option was given, so `apply` would return its input unchanged.
    pub fn is_empty(&self) -> bool {
        self.filter.is_none() && self.order_by.is_empty() && self.top.is_none() && self.skip == 0
    }
}

/// A parsed `$filter`.
///
/// Semantics:
/// - a missing member equals `null`;
/// - strings compare ordinally ignoring case, as on the 2018 service's case-insensitive SQL collation, and so do guid and datetime literals against strings; `endswith`, `startswith`, `contains` and `substringof` ignore case too;
/// - numbers compare numerically, also against a string that holds a number (ids may be strings);
/// - values of different kinds are never equal or ordered, so every comparison of them is false except `ne`: `StatusId ne 1` keeps objects without a status;
/// - a function given something other than a string yields false, and so does any comparison of its result, `ne` included;
/// - logic is two-valued: `not c` holds whenever `c` does not.
///
/// `Display` writes a canonical form (keywords in lowercase, paths with `/`, comparisons and nested `and`/`or` in parentheses) that parses back to the same filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    root: Node,
}

impl Filter {
    /// Parses the text of a `$filter` (percent-decoded); errors give the byte offset in `text`.
    ///
    /// The text may be at most `TEXT_CHARS_MAX` characters long and nest at most `FILTER_DEPTH_MAX` deep.
    pub fn parse(text: &str) -> Result<Filter, ODataError> {
        let option = Known::Filter.name();
        check_length(option, text)?;
        let mut parser = Parser::new(option, text, lex(option, text)?);
        if parser.tokens.peek().is_none() {
            return Err(parser.syntax(0, "the filter is empty; write a condition such as `Name eq 'x'`"));
        }
        let start = parser.offset();
        let root = parser.or(0)?;
        parser.require_condition(&root, start)?;
        match parser.tokens.peek().map(|token| &token.kind) {
            None => Ok(Filter { root }),
            Some(TokenKind::Close) => {
                let offset = parser.offset();
                Err(parser.syntax(offset, "unmatched `)`"))
            }
            Some(_) => Err(parser.after_expression("`and`, `or` or the end of $filter")),
        }
    }

    /// Whether `object` passes the filter.
    pub fn matches(&self, object: &Value) -> bool {
        is_true(&eval(&self.root, object))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(f, &self.root, Position::Top)
    }
}

/// One key of `$orderby`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderKey {
    /// The property path, one member name per segment as the text spelled it; segments match member names ignoring case.
    pub path: Vec<String>,
    /// `desc`: largest first, with null and missing values last (they come first in `asc`).
    pub descending: bool,
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.join("/"), if self.descending { "desc" } else { "asc" })
    }
}

/// Why the OData options of a request were rejected; every case is the client's to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ODataError {
    /// An OData option that the 2018 service refused (`$count`, `$expand`, `$search`).
    #[error("{option} is not supported; the management API supports $filter, $orderby, $top and $skip")]
    NotSupported { option: &'static str },
    /// The text of `$filter` or `$orderby` does not parse; `offset` is a byte offset into that text.
    #[error("{option}: at byte {offset}: {message}")]
    Syntax { option: &'static str, offset: usize, message: String },
    /// An option is given twice, or `$top` or `$skip` is not a non-negative integer.
    #[error("{option}: {message}")]
    InvalidInput { option: &'static str, message: String },
    /// The text of `$filter` or `$orderby` is longer than `TEXT_CHARS_MAX` characters.
    #[error("{option} is {actual} characters long, over the limit of {limit}")]
    TextTooLong { option: &'static str, limit: usize, actual: usize },
    /// A `$filter` nests deeper than `FILTER_DEPTH_MAX`; `offset` is where the first level too deep starts.
    #[error(
        "$filter: at byte {offset}: nested deeper than the limit of {limit} levels (each parenthesis, `not` and function call is a level)"
    )]
    NestingTooDeep { limit: usize, offset: usize },
}

/// The options the 2018 service refused rather than ignored.
const REFUSED: [&str; 3] = ["$count", "$expand", "$search"];

/// The function names of `$filter`, for messages.
const FUNCTIONS: &str = "contains, endswith, length, startswith, substringof, tolower and toupper";

/// OData operators outside the subset, named in messages so that a user learns they are unsupported rather than misspelled.
const UNSUPPORTED_OPERATORS: [&str; 9] = ["add", "sub", "mul", "div", "mod", "has", "in", "any", "all"];

/// The options this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Filter,
    OrderBy,
    Top,
    Skip,
}

impl Known {
    const ALL: [Known; 4] = [Known::Filter, Known::OrderBy, Known::Top, Known::Skip];

    fn name(self) -> &'static str {
        match self {
            Known::Filter => "$filter",
            Known::OrderBy => "$orderby",
            Known::Top => "$top",
            Known::Skip => "$skip",
        }
    }
}

fn check_length(option: &'static str, text: &str) -> Result<(), ODataError> {
    // A character is at least one byte, so short texts need no counting.
    if text.len() <= TEXT_CHARS_MAX {
        return Ok(());
    }
    let actual = text.chars().count();
    if actual > TEXT_CHARS_MAX {
        return Err(ODataError::TextTooLong { option, limit: TEXT_CHARS_MAX, actual });
    }
    Ok(())
}

fn parse_count(option: &'static str, text: &str) -> Result<usize, ODataError> {
    if text.is_empty() {
        return Err(ODataError::InvalidInput {
            option,
            message: "expected a non-negative integer such as 10, found nothing".to_owned(),
        });
    }
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ODataError::InvalidInput {
            option,
            message: format!("expected a non-negative integer such as 10, found `{}`", excerpt(text)),
        });
    }
    text.parse().map_err(|_| ODataError::InvalidInput { option, message: format!("`{}` is too large", excerpt(text)) })
}

fn parse_order_by(text: &str) -> Result<Vec<OrderKey>, ODataError> {
    let option = Known::OrderBy.name();
    check_length(option, text)?;
    let mut parser = Parser::new(option, text, lex(option, text)?);
    let mut keys = Vec::new();
    loop {
        let path = match parser.tokens.peek() {
            Some(Token { kind: TokenKind::Path(path), .. }) => path.clone(),
            _ => return Err(parser.expected("a property path such as `Name`")),
        };
        parser.tokens.next();
        let descending = if parser.eat_keyword("desc").is_some() {
            true
        } else {
            parser.eat_keyword("asc");
            false
        };
        keys.push(OrderKey { path, descending });
        match parser.tokens.peek().map(|token| &token.kind) {
            None => return Ok(keys),
            Some(TokenKind::Comma) => {
                parser.tokens.next();
            }
            Some(TokenKind::Open) if !descending => {
                let offset = parser.offset();
                return Err(
                    parser.syntax(offset, "$orderby takes property paths; ordering by a function is not supported")
                );
            }
            Some(_) => return Err(parser.expected("`asc`, `desc`, `,` or the end of $orderby")),
        }
    }
}

/// The order of `$orderby`: the first key that differs decides.
fn compare_by_keys(keys: &[OrderKey], a: &Value, b: &Value) -> Ordering {
    for key in keys {
        let ordering = compare_for_order(lookup(a, &key.path), lookup(b, &key.path));
        let ordering = if key.descending { ordering.reverse() } else { ordering };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// A total order over JSON values, as sorting needs: null and missing first, then booleans, numbers, strings (ignoring case), arrays and objects.
///
/// Unlike `$filter`, it does not read numbers out of strings; doing so would make the order intransitive.
fn compare_for_order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(value: Option<&Value>) -> u8 {
        match value {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(Value::Array(_)) => 4,
            Some(Value::Object(_)) => 5,
        }
    }
    match (a, b) {
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(b),
        (Some(Value::Number(a)), Some(Value::Number(b))) => match (json_number(a), json_number(b)) {
            (Some(a), Some(b)) => compare_numbers(a, b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        },
        (Some(Value::String(a)), Some(Value::String(b))) => compare_folded(a, b),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A node of a parsed filter. `and` and `or` hold all their operands in one node, so the tree is only as deep as the text nests.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Compare(Box<Node>, Op, Box<Node>),
    /// A function of two strings that yields a condition; the operands are in the order the text wrote them.
    Test(Test, Box<Node>, Box<Node>),
    /// A function of one string that yields a value.
    Transform(Transform, Box<Node>),
    /// A property path, one segment per member name.
    Property(Vec<String>),
    Literal(Literal),
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    /// The value and the text it was written as, which `Display` gives back.
    Number {
        value: Num,
        text: String,
    },
    String(String),
    Guid(String),
    DateTime(String),
    DateTimeOffset(String),
}

/// A number, exact for integers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i128),
    /// Always finite.
    Float(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn from_word(word: &str) -> Option<Op> {
        [Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le].into_iter().find(|op| word.eq_ignore_ascii_case(op.word()))
    }

    fn word(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Test {
    EndsWith,
    StartsWith,
    Contains,
    /// `substringof(part, text)`: the needle comes first.
    SubstringOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transform {
    ToLower,
    ToUpper,
    Length,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Test(Test),
    Transform(Transform),
}

impl Function {
    const ALL: [Function; 7] = [
        Function::Test(Test::EndsWith),
        Function::Test(Test::StartsWith),
        Function::Test(Test::Contains),
        Function::Test(Test::SubstringOf),
        Function::Transform(Transform::ToLower),
        Function::Transform(Transform::ToUpper),
        Function::Transform(Transform::Length),
    ];

    fn name(self) -> &'static str {
        match self {
            Function::Test(Test::EndsWith) => "endswith",
            Function::Test(Test::StartsWith) => "startswith",
            Function::Test(Test::Contains) => "contains",
            Function::Test(Test::SubstringOf) => "substringof",
            Function::Transform(Transform::ToLower) => "tolower",
            Function::Transform(Transform::ToUpper) => "toupper",
            Function::Transform(Transform::Length) => "length",
        }
    }

    fn signature(self) -> &'static str {
        match self {
            Function::Test(Test::EndsWith) => "2 arguments, endswith(text, suffix)",
            Function::Test(Test::StartsWith) => "2 arguments, startswith(text, prefix)",
            Function::Test(Test::Contains) => "2 arguments, contains(text, part)",
            Function::Test(Test::SubstringOf) => "2 arguments, substringof(part, text)",
            Function::Transform(Transform::ToLower) => "1 argument, tolower(text)",
            Function::Transform(Transform::ToUpper) => "1 argument, toupper(text)",
            Function::Transform(Transform::Length) => "1 argument, length(text)",
        }
    }
}

/// What a node yields, checked while parsing so that `Name and 'x'` fails with a message instead of matching nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Condition,
    Value,
    /// A property or a boolean literal, which may be either.
    Either,
}

fn kind(node: &Node) -> Kind {
    match node {
        Node::Or(_) | Node::And(_) | Node::Not(_) | Node::Compare(..) | Node::Test(..) => Kind::Condition,
        Node::Property(_) | Node::Literal(Literal::Bool(_)) => Kind::Either,
        Node::Transform(..) | Node::Literal(_) => Kind::Value,
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Token {
    kind: TokenKind,
    /// Byte offsets of the token in the text.
    start: usize,
    end: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum TokenKind {
    Open,
    Close,
    Comma,
    /// A name or a path of names; keywords and operators are one-segment paths, told apart by the parser.
    Path(Vec<String>),
    Literal(Literal),
}

fn lex(option: &'static str, text: &str) -> Result<Vec<Token>, ODataError> {
    let syntax = |offset, message: String| ODataError::Syntax { option, offset, message };
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let start = pos;
        let kind = match c {
            _ if c.is_whitespace() => {
                pos += c.len_utf8();
                continue;
            }
            '(' | ')' | ',' => {
                pos += 1;
                match c {
                    '(' => TokenKind::Open,
                    ')' => TokenKind::Close,
                    _ => TokenKind::Comma,
                }
            }
            '\'' => {
                let (value, end) = scan_string(option, text, pos)?;
                // A word right after a string is most likely the rest of it, cut off by an unescaped quote; keywords
                // there are only missing a space, and are read as keywords.
                let next_word = text[end..].split(|c: char| !is_name_char(c)).next().unwrap_or_default();
                if !next_word.is_empty() && !is_keyword(next_word) {
                    return Err(syntax(
                        end - 1,
                        "the string ends here but a word follows it; write a quote inside a string twice, as in 'it''s'"
                            .to_owned(),
                    ));
                }
                pos = end;
                TokenKind::Literal(Literal::String(value))
            }
            '-' | '0'..='9' => {
                let (literal, end) = scan_number(option, text, pos)?;
                pos = end;
                TokenKind::Literal(literal)
            }
            _ if is_name_start(c) => {
                let (kind, end) = scan_word(option, text, pos)?;
                pos = end;
                kind
            }
            '=' | '<' | '>' | '!' => {
                return Err(syntax(
                    pos,
                    format!("unexpected `{c}`; compare with eq, ne, gt, ge, lt or le, as in `Name eq 'x'`"),
                ));
            }
            '"' => {
                return Err(syntax(
                    pos,
                    "unexpected `\"`; strings are in single quotes, as in `Name eq 'x'`".to_owned(),
                ));
            }
            _ => return Err(syntax(pos, format!("unexpected character `{c}`"))),
        };
        tokens.push(Token { kind, start, end: pos });
    }
    Ok(tokens)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Scans the string literal whose opening quote is at `start`; `''` stands for one quote. Returns the value and the end offset.
fn scan_string(option: &'static str, text: &str, start: usize) -> Result<(String, usize), ODataError> {
    let mut value = String::new();
    let mut pos = start + 1;
    loop {
        let Some(quote) = text[pos..].find('\'') else {
            return Err(ODataError::Syntax {
                option,
                offset: start,
                message: "unterminated string; end it with `'` (write `''` for a quote inside it)".to_owned(),
            });
        };
        value.push_str(&text[pos..pos + quote]);
        pos += quote + 1;
        if !text[pos..].starts_with('\'') {
            return Ok((value, pos));
        }
        value.push('\'');
        pos += 1;
    }
}

fn scan_number(option: &'static str, text: &str, start: usize) -> Result<(Literal, usize), ODataError> {
    let syntax = |message: String| ODataError::Syntax { option, offset: start, message };
    let len = number_len(&text.as_bytes()[start..]);
    if len == 0 {
        return Err(syntax("expected a digit after `-`".to_owned()));
    }
    let end = start + len;
    if text[end..].chars().next().is_some_and(|c| is_name_char(c) || c == '.') {
        let word = text[start..].split(|c: char| c.is_whitespace() || "(),".contains(c)).next().unwrap_or_default();
        return Err(syntax(format!("malformed number `{}`", excerpt(word))));
    }
    let number = &text[start..end];
    let value =
        parse_number(number).ok_or_else(|| syntax(format!("the number `{}` is out of range", excerpt(number))))?;
    Ok((Literal::Number { value, text: number.to_owned() }, end))
}

/// Scans a name, a path of names, a keyword, or a prefixed literal such as `guid'…'`.
fn scan_word(option: &'static str, text: &str, start: usize) -> Result<(TokenKind, usize), ODataError> {
    let syntax = |offset, message: String| ODataError::Syntax { option, offset, message };
    let mut segments = Vec::new();
    let mut pos = start;
    loop {
        let end = text[pos..].find(|c: char| !is_name_char(c)).map_or(text.len(), |len| pos + len);
        segments.push(text[pos..end].to_owned());
        pos = end;
        match text[pos..].chars().next() {
            Some(separator @ ('/' | '.')) => {
                if !text[pos + 1..].chars().next().is_some_and(is_name_start) {
                    return Err(syntax(pos, format!("expected a property name after `{separator}`")));
                }
                pos += 1;
            }
            Some('\'') if segments.len() == 1 => return scan_prefixed(option, text, start, &segments[0], pos),
            _ => break,
        }
    }
    let kind = match segments.as_slice() {
        [word] if word.eq_ignore_ascii_case("null") => TokenKind::Literal(Literal::Null),
        [word] if word.eq_ignore_ascii_case("true") => TokenKind::Literal(Literal::Bool(true)),
        [word] if word.eq_ignore_ascii_case("false") => TokenKind::Literal(Literal::Bool(false)),
        _ => TokenKind::Path(segments),
    };
    Ok((kind, pos))
}

/// Scans the literal `prefix'…'` that starts at `start`, whose quote is at `quote`.
fn scan_prefixed(
    option: &'static str,
    text: &str,
    start: usize,
    prefix: &str,
    quote: usize,
) -> Result<(TokenKind, usize), ODataError> {
    let syntax = |message: String| ODataError::Syntax { option, offset: start, message };
    let make: fn(String) -> Literal = match prefix.to_ascii_lowercase().as_str() {
        "guid" => Literal::Guid,
        "datetime" => Literal::DateTime,
        "datetimeoffset" => Literal::DateTimeOffset,
        _ => {
            return Err(syntax(format!(
                "unknown literal prefix `{}`; the filter supports guid'…', datetime'…' and datetimeoffset'…'",
                excerpt(prefix)
            )));
        }
    };
    let (value, end) = scan_string(option, text, quote)?;
    let literal = make(value);
    if let Literal::Guid(value) = &literal
        && !is_guid(value)
    {
        return Err(syntax(
            "a guid is 32 hexadecimal digits in groups of 8-4-4-4-12, as in guid'00000000-0000-0000-0000-000000000000'"
                .to_owned(),
        ));
    }
    Ok((TokenKind::Literal(literal), end))
}

fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, byte)| match i {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The length of the longest prefix of `bytes` in the number grammar `-?digits(.digits)?([eE][+-]?digits)?`; 0 if none.
fn number_len(bytes: &[u8]) -> usize {
    let digits = |from: usize| bytes[from.min(bytes.len())..].iter().take_while(|byte| byte.is_ascii_digit()).count();
    let mut len = usize::from(bytes.first() == Some(&b'-'));
    let whole = digits(len);
    if whole == 0 {
        return 0;
    }
    len += whole;
    if bytes.get(len) == Some(&b'.') {
        let fraction = digits(len + 1);
        if fraction > 0 {
            len += 1 + fraction;
        }
    }
    if matches!(bytes.get(len), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
        let exponent = digits(len + 1 + sign);
        if exponent > 0 {
            len += 1 + sign + exponent;
        }
    }
    len
}

/// Reads a whole text in the number grammar; `None` for anything else, or for a value out of the range of `f64`.
fn parse_number(text: &str) -> Option<Num> {
    if text.is_empty() || number_len(text.as_bytes()) != text.len() {
        return None;
    }
    if !text.contains(['.', 'e', 'E'])
        && let Ok(int) = text.parse::<i128>()
    {
        return Some(Num::Int(int));
    }
    text.parse::<f64>().ok().filter(|float| float.is_finite()).map(Num::Float)
}

struct Parser<'t> {
    option: &'static str,
    text: &'t str,
    tokens: Peekable<vec::IntoIter<Token>>,
}

impl<'t> Parser<'t> {
    fn new(option: &'static str, text: &'t str, tokens: Vec<Token>) -> Parser<'t> {
        Parser { option, text, tokens: tokens.into_iter().peekable() }
    }

    /// `or` has the lowest precedence.
    fn or(&mut self, depth: usize) -> Result<Node, ODataError> {
        let items = self.chain(depth, "or", Parser::and)?;
        self.combine(items, Node::Or)
    }

    fn and(&mut self, depth: usize) -> Result<Node, ODataError> {
        let items = self.chain(depth, "and", Parser::unary)?;
        self.combine(items, Node::And)
    }

    /// `operand (keyword operand)*`, each operand with its start offset.
    fn chain(
        &mut self,
        depth: usize,
        keyword: &str,
        operand: fn(&mut Self, usize) -> Result<Node, ODataError>,
    ) -> Result<Vec<(usize, Node)>, ODataError> {
        let mut items = vec![(self.offset(), operand(self, depth)?)];
        while self.eat_keyword(keyword).is_some() {
            items.push((self.offset(), operand(self, depth)?));
        }
        Ok(items)
    }

    fn combine(&self, mut items: Vec<(usize, Node)>, make: fn(Vec<Node>) -> Node) -> Result<Node, ODataError> {
        if items.len() == 1
            && let Some((_, node)) = items.pop()
        {
            return Ok(node);
        }
        for (start, node) in &items {
            self.require_condition(node, *start)?;
        }
        Ok(make(items.into_iter().map(|(_, node)| node).collect()))
    }

    /// `not` binds tighter than `and` but looser than a comparison: `not Name eq 'x'` is `not (Name eq 'x')`.
    fn unary(&mut self, depth: usize) -> Result<Node, ODataError> {
        let Some(offset) = self.eat_keyword("not") else {
            return self.comparison(depth);
        };
        let depth = self.deeper(depth, offset)?;
        let start = self.offset();
        let operand = self.unary(depth)?;
        self.require_condition(&operand, start)?;
        Ok(Node::Not(Box::new(operand)))
    }

    fn comparison(&mut self, depth: usize) -> Result<Node, ODataError> {
        let left = self.primary(depth)?;
        let Some(op) = self.word().and_then(Op::from_word) else {
            return Ok(left);
        };
        self.tokens.next();
        let right = self.primary(depth)?;
        Ok(Node::Compare(Box::new(left), op, Box::new(right)))
    }

    fn primary(&mut self, depth: usize) -> Result<Node, ODataError> {
        let Some(Token { kind, start, .. }) = self.tokens.peek().cloned() else {
            return Err(self.expected("a value"));
        };
        match kind {
            TokenKind::Open => {
                self.tokens.next();
                let inner = self.or(self.deeper(depth, start)?)?;
                self.close(start)?;
                Ok(inner)
            }
            TokenKind::Literal(literal) => {
                self.tokens.next();
                Ok(Node::Literal(literal))
            }
            TokenKind::Path(path) => {
                if let [name] = path.as_slice() {
                    if is_keyword(name) {
                        return Err(self.expected("a value"));
                    }
                    self.tokens.next();
                    if matches!(self.tokens.peek(), Some(Token { kind: TokenKind::Open, .. })) {
                        return self.call(name, start, depth);
                    }
                    return Ok(Node::Property(path));
                }
                self.tokens.next();
                Ok(Node::Property(path))
            }
            TokenKind::Close | TokenKind::Comma => Err(self.expected("a value")),
        }
    }

    /// Parses the arguments of the function `name`, which starts at `start`; the next token is its `(`.
    fn call(&mut self, name: &str, start: usize, depth: usize) -> Result<Node, ODataError> {
        let Some(function) = Function::ALL.into_iter().find(|function| name.eq_ignore_ascii_case(function.name()))
        else {
            return Err(
                self.syntax(start, format!("unknown function `{}`; the filter supports {FUNCTIONS}", excerpt(name)))
            );
        };
        let open = self.offset();
        self.tokens.next();
        let depth = self.deeper(depth, open)?;
        let mut args = Vec::new();
        if !matches!(self.tokens.peek(), Some(Token { kind: TokenKind::Close, .. })) {
            loop {
                let arg_start = self.offset();
                let arg = self.or(depth)?;
                self.require_value(&arg, arg_start)?;
                args.push(arg);
                if !matches!(self.tokens.peek(), Some(Token { kind: TokenKind::Comma, .. })) {
                    break;
                }
                self.tokens.next();
            }
        }
        self.close(open)?;
        let arity_error = |found: usize| {
            self.syntax(start, format!("`{}` takes {}; found {found}", function.name(), function.signature()))
        };
        match function {
            Function::Test(test) => match <[Node; 2]>::try_from(args) {
                Ok([a, b]) => Ok(Node::Test(test, Box::new(a), Box::new(b))),
                Err(args) => Err(arity_error(args.len())),
            },
            Function::Transform(transform) => match <[Node; 1]>::try_from(args) {
                Ok([a]) => Ok(Node::Transform(transform, Box::new(a))),
                Err(args) => Err(arity_error(args.len())),
            },
        }
    }

    /// Consumes the `)` that closes the `(` at `open`.
    fn close(&mut self, open: usize) -> Result<(), ODataError> {
        if matches!(self.tokens.peek(), Some(Token { kind: TokenKind::Close, .. })) {
            self.tokens.next();
            return Ok(());
        }
        Err(self.after_expression(&format!("`)` to close the `(` at byte {open}")))
    }

    /// One level deeper, for the construct at `offset`.
    fn deeper(&self, depth: usize, offset: usize) -> Result<usize, ODataError> {
        if depth >= FILTER_DEPTH_MAX {
            return Err(ODataError::NestingTooDeep { limit: FILTER_DEPTH_MAX, offset });
        }
        Ok(depth + 1)
    }

    fn require_condition(&self, node: &Node, start: usize) -> Result<(), ODataError> {
        if kind(node) == Kind::Value {
            return Err(self.syntax(start, "expected a condition such as `Name eq 'x'`, found a value"));
        }
        Ok(())
    }

    fn require_value(&self, node: &Node, start: usize) -> Result<(), ODataError> {
        if kind(node) == Kind::Condition {
            return Err(
                self.syntax(start, "expected a value (a property, a literal or a function of text), found a condition")
            );
        }
        Ok(())
    }

    /// The next token if it is a one-segment path: a name, a keyword or an operator.
    fn word(&mut self) -> Option<&str> {
        match self.tokens.peek() {
            Some(Token { kind: TokenKind::Path(path), .. }) => match path.as_slice() {
                [word] => Some(word),
                _ => None,
            },
            _ => None,
        }
    }

    /// Consumes the next token if it is `keyword` (in any case) and returns its offset.
    fn eat_keyword(&mut self, keyword: &str) -> Option<usize> {
        if self.word().is_some_and(|word| word.eq_ignore_ascii_case(keyword)) {
            return self.tokens.next().map(|token| token.start);
        }
        None
    }

    /// The offset of the next token, or the end of the text.
    fn offset(&mut self) -> usize {
        self.tokens.peek().map_or(self.text.len(), |token| token.start)
    }

    fn found(&mut self) -> String {
        match self.tokens.peek() {
            Some(token) => format!("`{}`", excerpt(&self.text[token.start..token.end])),
            None => format!("the end of {}", self.option),
        }
    }

    fn syntax(&self, offset: usize, message: impl Into<String>) -> ODataError {
        ODataError::Syntax { option: self.option, offset, message: message.into() }
    }

    fn expected(&mut self, what: &str) -> ODataError {
        let message = format!("expected {what}, found {}", self.found());
        let offset = self.offset();
        self.syntax(offset, message)
    }

    /// The error for a token that cannot follow a complete expression, naming operators outside the subset.
    fn after_expression(&mut self, what: &str) -> ODataError {
        let hint = match self.word() {
            Some(word) if UNSUPPORTED_OPERATORS.iter().any(|op| word.eq_ignore_ascii_case(op)) => {
                Some(format!("the operator `{word}` is not supported"))
            }
            Some(word) if Op::from_word(word).is_some() => {
                Some("comparisons do not chain; join them with `and` or `or`".to_owned())
            }
            _ => None,
        };
        match hint {
            Some(message) => {
                let offset = self.offset();
                self.syntax(offset, message)
            }
            None => self.expected(what),
        }
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not"].iter().any(|keyword| word.eq_ignore_ascii_case(keyword)) || Op::from_word(word).is_some()
}

/// A value met while evaluating a filter.
#[derive(Debug)]
enum Val<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(Cow<'a, str>),
    /// An array or an object: unequal and unordered to everything, even itself.
    Other,
    /// A function's result on something that is not a string: every comparison of it is false.
    Undefined,
}

fn is_true(value: &Val<'_>) -> bool {
    matches!(value, Val::Bool(true))
}

fn eval<'a>(node: &'a Node, object: &'a Value) -> Val<'a> {
    match node {
        Node::Or(items) => Val::Bool(items.iter().any(|item| is_true(&eval(item, object)))),
        Node::And(items) => Val::Bool(items.iter().all(|item| is_true(&eval(item, object)))),
        Node::Not(operand) => Val::Bool(!is_true(&eval(operand, object))),
        Node::Compare(left, op, right) => Val::Bool(compare(*op, &eval(left, object), &eval(right, object))),
        Node::Test(test, a, b) => {
            let (Val::Str(a), Val::Str(b)) = (eval(a, object), eval(b, object)) else {
                return Val::Bool(false);
            };
            let (a, b) = (fold_str(&a), fold_str(&b));
            Val::Bool(match test {
                Test::EndsWith => a.ends_with(&b),
                Test::StartsWith => a.starts_with(&b),
                Test::Contains => a.contains(&b),
                Test::SubstringOf => b.contains(&a),
            })
        }
        Node::Transform(transform, operand) => {
            let Val::Str(text) = eval(operand, object) else {
                return Val::Undefined;
            };
            match transform {
                Transform::ToLower => Val::Str(Cow::Owned(text.to_lowercase())),
                Transform::ToUpper => Val::Str(Cow::Owned(text.to_uppercase())),
                Transform::Length => Val::Num(Num::Int(text.chars().count() as i128)),
            }
        }
        Node::Property(path) => match lookup(object, path) {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Bool(value)) => Val::Bool(*value),
            Some(Value::Number(number)) => json_number(number).map_or(Val::Other, Val::Num),
            Some(Value::String(text)) => Val::Str(Cow::Borrowed(text)),
            Some(Value::Array(_) | Value::Object(_)) => Val::Other,
        },
        Node::Literal(literal) => match literal {
            Literal::Null => Val::Null,
            Literal::Bool(value) => Val::Bool(*value),
            Literal::Number { value, .. } => Val::Num(*value),
            Literal::String(text) | Literal::Guid(text) | Literal::DateTime(text) | Literal::DateTimeOffset(text) => {
                Val::Str(Cow::Borrowed(text))
            }
        },
    }
}

fn compare(op: Op, left: &Val<'_>, right: &Val<'_>) -> bool {
    let ordering = match (left, right) {
        (Val::Undefined, _) | (_, Val::Undefined) => return false,
        (Val::Null, Val::Null) => Some(Ordering::Equal),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        (Val::Num(a), Val::Num(b)) => Some(compare_numbers(*a, *b)),
        (Val::Num(a), Val::Str(b)) => parse_number(b).map(|b| compare_numbers(*a, b)),
        (Val::Str(a), Val::Num(b)) => parse_number(a).map(|a| compare_numbers(a, *b)),
        (Val::Str(a), Val::Str(b)) => Some(compare_folded(a, b)),
        _ => None,
    };
    match ordering {
        Some(ordering) => op.holds(ordering),
        None => op == Op::Ne,
    }
}

/// The member at `path`, each segment matching a member name exactly or else ignoring case.
fn lookup<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = object;
    for segment in path {
        let Value::Object(members) = current else {
            return None;
        };
        current = match members.get(segment) {
            Some(value) => value,
            None => members.iter().find(|(name, _)| compare_folded(name, segment) == Ordering::Equal)?.1,
        };
    }
    Some(current)
}

fn json_number(number: &serde_json::Number) -> Option<Num> {
    if let Some(int) = number.as_i64() {
        return Some(Num::Int(int.into()));
    }
    if let Some(int) = number.as_u64() {
        return Some(Num::Int(int.into()));
    }
    number.as_f64().filter(|float| float.is_finite()).map(Num::Float)
}

/// Compares numbers exactly, also an integer with a float; floats are finite, so the order is total.
fn compare_numbers(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(a), Num::Int(b)) => a.cmp(&b),
        (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Num::Int(a), Num::Float(b)) => compare_int_float(a, b),
        (Num::Float(a), Num::Int(b)) => compare_int_float(b, a).reverse(),
    }
}

fn compare_int_float(int: i128, float: f64) -> Ordering {
    // Every integral float inside the range of i128 converts to it exactly; outside, the sign decides.
    const BOUND: f64 = (1u128 << 127) as f64;
    if float >= BOUND {
        return Ordering::Less;
    }
    if float < -BOUND {
        return Ordering::Greater;
    }
    let whole = float.trunc();
    int.cmp(&(whole as i128)).then_with(|| 0.0.partial_cmp(&(float - whole)).unwrap_or(Ordering::Equal))
}

/// Folds a character for comparison ignoring case: its simple uppercase mapping, as .NET's ordinal-ignore-case comparison does.
fn fold(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(upper), None) => upper,
        _ => c,
    }
}

fn fold_str(text: &str) -> String {
    text.chars().map(fold).collect()
}

fn compare_folded(a: &str, b: &str) -> Ordering {
    a.chars().map(fold).cmp(b.chars().map(fold))
}

/// A short quote of user text for a message.
fn excerpt(text: &str) -> Cow<'_, str> {
    const CHARS_MAX: usize = 40;
    match text.char_indices().nth(CHARS_MAX) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

/// Where a node is written, which decides whether it needs parentheses to parse back to the same tree.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The whole filter, or a function argument.
    Top,
    /// An operand of `and`, `or` or `not`.
    Logic,
    /// An operand of a comparison.
    Operand,
}

fn write_node(f: &mut fmt::Formatter<'_>, node: &Node, position: Position) -> fmt::Result {
    let grouped = match node {
        Node::Or(_) | Node::And(_) | Node::Compare(..) => position != Position::Top,
        Node::Not(_) => position == Position::Operand,
        _ => false,
    };
    if grouped {
        f.write_str("(")?;
    }
    match node {
        Node::Or(items) | Node::And(items) => {
            let keyword = if matches!(node, Node::Or(_)) { " or " } else { " and " };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(keyword)?;
                }
                write_node(f, item, Position::Logic)?;
            }
        }
        Node::Not(operand) => {
            f.write_str("not ")?;
            write_node(f, operand, Position::Logic)?;
        }
        Node::Compare(left, op, right) => {
            write_node(f, left, Position::Operand)?;
            write!(f, " {} ", op.word())?;
            write_node(f, right, Position::Operand)?;
        }
        Node::Test(test, a, b) => {
            write!(f, "{}(", Function::Test(*test).name())?;
            write_node(f, a, Position::Top)?;
            f.write_str(", ")?;
            write_node(f, b, Position::Top)?;
            f.write_str(")")?;
        }
        Node::Transform(transform, operand) => {
            write!(f, "{}(", Function::Transform(*transform).name())?;
            write_node(f, operand, Position::Top)?;
            f.write_str(")")?;
        }
        Node::Property(path) => f.write_str(&path.join("/"))?,
        Node::Literal(literal) => match literal {
            Literal::Null => f.write_str("null")?,
            Literal::Bool(value) => write!(f, "{value}")?,
            Literal::Number { text, .. } => f.write_str(text)?,
            Literal::String(text) => write!(f, "'{}'", text.replace('\'', "''"))?,
            Literal::Guid(text) => write!(f, "guid'{text}'")?,
            Literal::DateTime(text) => write!(f, "datetime'{}'", text.replace('\'', "''"))?,
            Literal::DateTimeOffset(text) => write!(f, "datetimeoffset'{}'", text.replace('\'', "''"))?,
        },
    }
    if grouped {
        f.write_str(")")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::json;

    use super::*;

    /// A small tenant as the management face lists it: spaces, users and property keys in one collection, so that one fixture shows every kind of value.
    fn objects() -> Vec<Value> {
        let building = "2e5b9a8c-0000-4000-8000-000000000001";
        let floor = "2e5b9a8c-0000-4000-8000-000000000002";
        vec![
            json!({"id": building, "name": "Building 1", "parentSpaceId": null, "typeId": 2, "statusId": 1,
                   "location": {"latitude": 47.64, "longitude": -122.13}, "timeUpdated": "2018-09-01T08:00:00Z"}),
            json!({"id": floor, "name": "Floor 1", "parentSpaceId": building, "typeId": 3, "statusId": 2,
                   "size": "M", "disabled": false, "timeUpdated": "2018-11-15T08:00:00Z"}),
            // The parent id in upper case and the type id as a string: guids and numbers must still match.
            json!({"id": "2e5b9a8c-0000-4000-8000-000000000003", "name": "floor 2",
                   "parentSpaceId": building.to_uppercase(), "typeId": "3", "statusId": 1, "size": "L", "disabled": true}),
            json!({"id": "2e5b9a8c-0000-4000-8000-000000000004", "name": "Room 101", "parentSpaceId": floor,
                   "typeId": 4, "size": "S", "area": 12.5}),
            json!({"id": "2e5b9a8c-0000-4000-8000-000000000005", "name": "Focus Room A1", "parentSpaceId": floor,
                   "typeId": 4, "size": "XL", "area": 30}),
            json!({"id": "2e5b9a8c-0000-4000-8000-000000000006", "name": "Jan Kowalski", "lastName": "Kowalski",
                   "spaceId": "2e5b9a8c-0000-4000-8000-000000000004"}),
            json!({"id": "2e5b9a8c-0000-4000-8000-000000000007", "name": "Eva Novak", "lastName": "Novak",
                   "spaceId": "2e5b9a8c-0000-4000-8000-000000000005", "description": "Floor warden"}),
            json!({"name": "AreaInSqMeters", "scope": "Spaces", "description": "area of the space", "tags": ["area"]}),
            // The maximum is 2^53 + 1, which a float cannot hold.
            json!({"name": "RefreshTime", "scope": "Sensors", "description": "it's in seconds", "maxValue": 9_007_199_254_740_993_u64}),
        ]
    }

    fn names(objects: &[Value]) -> String {
        let names: Vec<&str> = objects.iter().map(|object| object["name"].as_str().unwrap_or("?")).collect();
        if names.is_empty() { "(none)".to_owned() } else { names.join(", ") }
    }

    /// Parses `text` as a `$filter`, checks that its printed form parses back to the same filter, and shows that form and the fixture objects it matches.
    fn check(text: &str, expect: Expect) {
        let rendered = match Filter::parse(text) {
            Ok(filter) => {
                let printed = filter.to_string();
                assert_eq!(Filter::parse(&printed).as_ref(), Ok(&filter), "{printed} parses back to the same filter");
                let matched: Vec<Value> = objects().into_iter().filter(|object| filter.matches(object)).collect();
                format!("{}\n{}", excerpt_long(&printed), names(&matched))
            }
            Err(error) => format!("error: {error}"),
        };
        expect.assert_eq(&rendered);
    }

    /// Long filters, made by the limit tests, are shown by their start.
    fn excerpt_long(text: &str) -> String {
        match text.char_indices().nth(120) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        }
    }

    /// Reads `pairs` as a request's query and shows the names of the fixture objects that the options keep, in order.
    fn check_query(pairs: &[(&str, &str)], expect: Expect) {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let rendered = match QueryOptions::from_pairs(&pairs) {
            Ok(options) => {
                let empty = if options.is_empty() { "(no options) " } else { "" };
                format!("{empty}{}", names(&options.apply(objects())))
            }
            Err(error) => format!("error: {error}"),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn documented_examples() {
        check(
            "Name eq 'Floor 1' and ParentSpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000001'",
            expect![[r#"
                (Name eq 'Floor 1') and (ParentSpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000001')
                Floor 1"#]],
        );
        check(
            "ParentSpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000001'",
            expect![[r#"
                ParentSpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000001'
                Floor 1, floor 2"#]],
        );
        check(
            "ParentSpaceId eq null",
            expect![[r#"
                ParentSpaceId eq null
                Building 1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
        check(
            "SpaceId eq guid'2E5B9A8C-0000-4000-8000-000000000004'",
            expect![[r#"
                SpaceId eq guid'2E5B9A8C-0000-4000-8000-000000000004'
                Jan Kowalski"#]],
        );
        check(
            "Name eq 'Room 101' and SpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000002'",
            expect![[r#"
                (Name eq 'Room 101') and (SpaceId eq guid'2e5b9a8c-0000-4000-8000-000000000002')
                (none)"#]],
        );
        check(
            "TypeId eq 2",
            expect![[r#"
                TypeId eq 2
                Building 1"#]],
        );
        check(
            "StatusId ne 1",
            expect![[r#"
                StatusId ne 1
                Floor 1, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
        check(
            "endswith(LastName,'k')",
            expect![[r#"
                endswith(LastName, 'k')
                Eva Novak"#]],
        );
        check(
            "endswith(Description,'space')",
            expect![[r#"
                endswith(Description, 'space')
                AreaInSqMeters"#]],
        );
        check(
            "substringof('Floor',Name)",
            expect![[r#"
                substringof('Floor', Name)
                Floor 1, floor 2"#]],
        );
        check(
            "Scope ne 'Spaces'",
            expect![[r#"
                Scope ne 'Spaces'
                Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, RefreshTime"#]],
        );
        check(
            "Size gt 'M'",
            expect![[r#"
                Size gt 'M'
                Room 101, Focus Room A1"#]],
        );
    }

    #[test]
    fn comparison_operators() {
        check(
            "Area eq 30",
            expect![[r#"
                Area eq 30
                Focus Room A1"#]],
        );
        check(
            "Area ne 30",
            expect![[r#"
                Area ne 30
                Building 1, Floor 1, floor 2, Room 101, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
        check(
            "Area gt 12.5",
            expect![[r#"
                Area gt 12.5
                Focus Room A1"#]],
        );
        check(
            "Area ge 12.5",
            expect![[r#"
                Area ge 12.5
                Room 101, Focus Room A1"#]],
        );
        check(
            "Area lt 30",
            expect![[r#"
                Area lt 30
                Room 101"#]],
        );
        check(
            "Area le 30.0",
            expect![[r#"
                Area le 30.0
                Room 101, Focus Room A1"#]],
        );
    }

    #[test]
    fn literals() {
        // Negative numbers and exponents.
        check(
            "Location/Longitude lt -122",
            expect![[r#"
                Location/Longitude lt -122
                Building 1"#]],
        );
        check(
            "Area ge 1.25e1",
            expect![[r#"
                Area ge 1.25e1
                Room 101, Focus Room A1"#]],
        );
        // A quote inside a string is written twice.
        check(
            "Description eq 'it''s in seconds'",
            expect![[r#"
                Description eq 'it''s in seconds'
                RefreshTime"#]],
        );
        check(
            "Disabled eq true",
            expect![[r#"
                Disabled eq true
                floor 2"#]],
        );
        check(
            "Disabled eq false",
            expect![[r#"
                Disabled eq false
                Floor 1"#]],
        );
        // Datetimes compare as strings, which orders ISO 8601 times correctly.
        check(
            "TimeUpdated gt datetime'2018-10-01T00:00:00Z'",
            expect![[r#"
                TimeUpdated gt datetime'2018-10-01T00:00:00Z'
                Floor 1"#]],
        );
        check(
            "TimeUpdated lt datetimeoffset'2018-10-01T00:00:00Z'",
            expect![[r#"
                TimeUpdated lt datetimeoffset'2018-10-01T00:00:00Z'
                Building 1"#]],
        );
        // A boolean property or literal stands alone as a condition.
        check(
            "Disabled",
            expect![[r#"
                Disabled
                floor 2"#]],
        );
        check(
            "true",
            expect![[r#"
                true
                Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
    }

    #[test]
    fn functions() {
        check(
            "startswith(Name,'room')",
            expect![[r#"
                startswith(Name, 'room')
                Room 101"#]],
        );
        check(
            "contains(Description,'FLOOR')",
            expect![[r#"
                contains(Description, 'FLOOR')
                Eva Novak"#]],
        );
        check(
            "substringof('room',Name) eq true",
            expect![[r#"
                substringof('room', Name) eq true
                Room 101, Focus Room A1"#]],
        );
        check(
            "tolower(Name) eq 'floor 1'",
            expect![[r#"
                tolower(Name) eq 'floor 1'
                Floor 1"#]],
        );
        check(
            "toupper(Scope) eq 'SENSORS'",
            expect![[r#"
                toupper(Scope) eq 'SENSORS'
                RefreshTime"#]],
        );
        check(
            "length(Name) eq 7",
            expect![[r#"
                length(Name) eq 7
                Floor 1, floor 2"#]],
        );
        check(
            "length(tolower(LastName)) gt 5",
            expect![[r#"
                length(tolower(LastName)) gt 5
                Jan Kowalski"#]],
        );
        // On anything but a string a function gives false, and so does every comparison of its result, `ne` included.
        check(
            "endswith(TypeId,'2') or startswith(Location,'x') or contains(Tags,'area')",
            expect![[r#"
                endswith(TypeId, '2') or startswith(Location, 'x') or contains(Tags, 'area')
                (none)"#]],
        );
        check(
            "length(TypeId) eq 1",
            expect![[r#"
                length(TypeId) eq 1
                floor 2"#]],
        );
        check(
            "tolower(LastName) ne 'x'",
            expect![[r#"
                tolower(LastName) ne 'x'
                Jan Kowalski, Eva Novak"#]],
        );
        check(
            "not endswith(TypeId,'2')",
            expect![[r#"
                not endswith(TypeId, '2')
                Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
    }

    #[test]
    fn precedence() {
        // `and` binds tighter than `or`.
        check(
            "Name eq 'Floor 1' or Name eq 'floor 2' and TypeId eq 2",
            expect![[r#"
                (Name eq 'Floor 1') or ((Name eq 'floor 2') and (TypeId eq 2))
                Floor 1"#]],
        );
        check(
            "(Name eq 'Floor 1' or Name eq 'floor 2') and TypeId eq 3",
            expect![[r#"
                ((Name eq 'Floor 1') or (Name eq 'floor 2')) and (TypeId eq 3)
                Floor 1, floor 2"#]],
        );
        // `not` binds looser than a comparison and tighter than `and`.
        check(
            "not Name eq 'Floor 1' and TypeId eq 3",
            expect![[r#"
                not (Name eq 'Floor 1') and (TypeId eq 3)
                floor 2"#]],
        );
        check(
            "not (TypeId eq 3 or TypeId eq 4) and ParentSpaceId ne null",
            expect![[r#"
                not ((TypeId eq 3) or (TypeId eq 4)) and (ParentSpaceId ne null)
                (none)"#]],
        );
        check(
            "not not Disabled",
            expect![[r#"
                not not Disabled
                floor 2"#]],
        );
        check(
            "((TypeId eq 2))",
            expect![[r#"
                TypeId eq 2
                Building 1"#]],
        );
        check(
            "(TypeId eq 4) eq true",
            expect![[r#"
                (TypeId eq 4) eq true
                Room 101, Focus Room A1"#]],
        );
    }

    #[test]
    fn case_is_ignored() {
        // Keywords, function names and literal prefixes.
        check(
            "NAME EQ 'floor 1' AND typeid Eq 3 OR Not TRUE",
            expect![[r#"
                ((NAME eq 'floor 1') and (typeid eq 3)) or not true
                Floor 1"#]],
        );
        check(
            "ENDSWITH(lastname,'K') and ParentSpaceId EQ NULL",
            expect![[r#"
                endswith(lastname, 'K') and (ParentSpaceId eq null)
                Eva Novak"#]],
        );
        check(
            "parentspaceid eq GUID'2E5B9A8C-0000-4000-8000-000000000002'",
            expect![[r#"
                parentspaceid eq guid'2E5B9A8C-0000-4000-8000-000000000002'
                Room 101, Focus Room A1"#]],
        );
        // Strings compare ignoring case, as on the 2018 service's SQL collation.
        check(
            "Name eq 'FLOOR 2' or Name lt 'b'",
            expect![[r#"
                (Name eq 'FLOOR 2') or (Name lt 'b')
                floor 2, AreaInSqMeters"#]],
        );
    }

    #[test]
    fn paths_and_missing_members() {
        check(
            "Location/Latitude gt 47 and location.LONGITUDE lt 0",
            expect![[r#"
                (Location/Latitude gt 47) and (location/LONGITUDE lt 0)
                Building 1"#]],
        );
        // A path through a missing member or a non-object ends in null.
        check(
            "Location/Latitude eq null and Name/First eq null",
            expect![[r#"
                (Location/Latitude eq null) and (Name/First eq null)
                Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
        // Objects and arrays are neither null nor equal to anything.
        check(
            "Location ne null and Location ne 'x'",
            expect![[r#"
                (Location ne null) and (Location ne 'x')
                Building 1"#]],
        );
        check(
            "Tags eq null",
            expect![[r#"
                Tags eq null
                Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, RefreshTime"#]],
        );
        check(
            "Size ge 'A' or Size lt 'A'",
            expect![[r#"
                (Size ge 'A') or (Size lt 'A')
                Floor 1, floor 2, Room 101, Focus Room A1"#]],
        );
        check(
            "null eq null and Missing eq null",
            expect![[r#"
                (null eq null) and (Missing eq null)
                Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
    }

    #[test]
    fn kinds() {
        // A numeric literal reads a number out of a string, so ids stored as strings still match.
        check(
            "TypeId eq 3",
            expect![[r#"
                TypeId eq 3
                Floor 1, floor 2"#]],
        );
        check(
            "TypeId gt 2.5 and TypeId lt 3.5",
            expect![[r#"
                (TypeId gt 2.5) and (TypeId lt 3.5)
                Floor 1, floor 2"#]],
        );
        // A number and a string that holds one compare as numbers, whichever side each is on; other kinds never equal a number.
        check(
            "TypeId eq '3'",
            expect![[r#"
                TypeId eq '3'
                Floor 1, floor 2"#]],
        );
        check(
            "TypeId ne '3'",
            expect![[r#"
                TypeId ne '3'
                Building 1, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"#]],
        );
        check(
            "Disabled eq 0 or Name gt 1 or Disabled gt null",
            expect![[r#"
                (Disabled eq 0) or (Name gt 1) or (Disabled gt null)
                (none)"#]],
        );
    }

    #[test]
    fn numbers_compare_exactly() {
        check(
            "MaxValue eq 9007199254740993 and MaxValue gt 9007199254740992 and MaxValue gt 9007199254740992.0",
            expect![[r#"
                (MaxValue eq 9007199254740993) and (MaxValue gt 9007199254740992) and (MaxValue gt 9007199254740992.0)
                RefreshTime"#]],
        );
        check(
            "MaxValue eq 9007199254740992.0 or MaxValue eq 9007199254740992",
            expect![[r#"
                (MaxValue eq 9007199254740992.0) or (MaxValue eq 9007199254740992)
                (none)"#]],
        );
        check(
            "MaxValue lt 1e40 and MaxValue gt -1e40 and MaxValue lt 1000000000000000000000000000000000000000000",
            expect![[r#"
                (MaxValue lt 1e40) and (MaxValue gt -1e40) and (MaxValue lt 1000000000000000000000000000000000000000000)
                RefreshTime"#]],
        );
        check(
            "Area eq 1.25e1 or Area lt -0.5e-3",
            expect![[r#"
                (Area eq 1.25e1) or (Area lt -0.5e-3)
                Room 101"#]],
        );
    }

    #[test]
    fn syntax_errors() {
        check("", expect!["error: $filter: at byte 0: the filter is empty; write a condition such as `Name eq 'x'`"]);
        check("  ", expect!["error: $filter: at byte 0: the filter is empty; write a condition such as `Name eq 'x'`"]);
        check("Name eq", expect!["error: $filter: at byte 7: expected a value, found the end of $filter"]);
        check("Name eq and", expect!["error: $filter: at byte 8: expected a value, found `and`"]);
        check(
            "Name = 'x'",
            expect![
                "error: $filter: at byte 5: unexpected `=`; compare with eq, ne, gt, ge, lt or le, as in `Name eq 'x'`"
            ],
        );
        check(
            "Name eq \"x\"",
            expect![[
                r#"error: $filter: at byte 8: unexpected `"`; strings are in single quotes, as in `Name eq 'x'`"#
            ]],
        );
        check(
            "Name eq 'it's'",
            expect![
                "error: $filter: at byte 11: the string ends here but a word follows it; write a quote inside a string twice, as in 'it''s'"
            ],
        );
        check(
            "Name eq 'x",
            expect![
                "error: $filter: at byte 8: unterminated string; end it with `'` (write `''` for a quote inside it)"
            ],
        );
        check("Name eq 'x'and", expect!["error: $filter: at byte 14: expected a value, found the end of $filter"]);
        check(
            "Name eq 'O'Brien'",
            expect![
                "error: $filter: at byte 10: the string ends here but a word follows it; write a quote inside a string twice, as in 'it''s'"
            ],
        );
        check("Name eq 'x' and", expect!["error: $filter: at byte 15: expected a value, found the end of $filter"]);
        check("Name eq 'x' #", expect!["error: $filter: at byte 12: unexpected character `#`"]);
        check(
            "(Name eq 'x'",
            expect!["error: $filter: at byte 12: expected `)` to close the `(` at byte 0, found the end of $filter"],
        );
        check("Name eq 'x')", expect!["error: $filter: at byte 11: unmatched `)`"]);
        check(
            "Name eq 'x' Size eq 'M'",
            expect!["error: $filter: at byte 12: expected `and`, `or` or the end of $filter, found `Size`"],
        );
        check("TypeId add 1 eq 3", expect!["error: $filter: at byte 7: the operator `add` is not supported"]);
        check(
            "Name eq 'a' eq 'b'",
            expect!["error: $filter: at byte 12: comparisons do not chain; join them with `and` or `or`"],
        );
        check("'x'", expect!["error: $filter: at byte 0: expected a condition such as `Name eq 'x'`, found a value"]);
        check(
            "Name eq 'x' and length(Name)",
            expect!["error: $filter: at byte 16: expected a condition such as `Name eq 'x'`, found a value"],
        );
        check("not 3", expect!["error: $filter: at byte 4: expected a condition such as `Name eq 'x'`, found a value"]);
        check(
            "endswith(Name eq 'x','y')",
            expect![
                "error: $filter: at byte 9: expected a value (a property, a literal or a function of text), found a condition"
            ],
        );
        check(
            "trim(Name) eq 'x'",
            expect![
                "error: $filter: at byte 0: unknown function `trim`; the filter supports contains, endswith, length, startswith, substringof, tolower and toupper"
            ],
        );
        check(
            "endswith(Name)",
            expect!["error: $filter: at byte 0: `endswith` takes 2 arguments, endswith(text, suffix); found 1"],
        );
        check(
            "tolower() eq 'x'",
            expect!["error: $filter: at byte 0: `tolower` takes 1 argument, tolower(text); found 0"],
        );
        check(
            "substringof('a' Name)",
            expect!["error: $filter: at byte 16: expected `)` to close the `(` at byte 11, found `Name`"],
        );
        check(
            "ParentSpaceId eq guid'1234'",
            expect![
                "error: $filter: at byte 17: a guid is 32 hexadecimal digits in groups of 8-4-4-4-12, as in guid'00000000-0000-0000-0000-000000000000'"
            ],
        );
        check(
            "Data eq binary'00'",
            expect![
                "error: $filter: at byte 8: unknown literal prefix `binary`; the filter supports guid'…', datetime'…' and datetimeoffset'…'"
            ],
        );
        check("TypeId eq 2x", expect!["error: $filter: at byte 10: malformed number `2x`"]);
        check("TypeId eq 1.2.3", expect!["error: $filter: at byte 10: malformed number `1.2.3`"]);
        check("TypeId eq 1e999", expect!["error: $filter: at byte 10: the number `1e999` is out of range"]);
        check("TypeId eq - 1", expect!["error: $filter: at byte 10: expected a digit after `-`"]);
        check("Location/ eq 1", expect!["error: $filter: at byte 8: expected a property name after `/`"]);
        check(
            "Name eq 'a very long string that goes on and on and on and on'  x",
            expect!["error: $filter: at byte 64: expected `and`, `or` or the end of $filter, found `x`"],
        );
        check(
            "Name eq Description Description",
            expect!["error: $filter: at byte 20: expected `and`, `or` or the end of $filter, found `Description`"],
        );
    }

    #[test]
    fn limits() {
        // The length counts characters, not bytes.
        let longest = format!("Name eq '{}'", "é".repeat(TEXT_CHARS_MAX - 10));
        check(
            &longest,
            expect![[r#"
                Name eq 'ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé…
                (none)"#]],
        );
        check(&format!("{longest} "), expect!["error: $filter is 4001 characters long, over the limit of 4000"]);
        let nested = |depth: usize| format!("{}TypeId eq 2{}", "(".repeat(depth), ")".repeat(depth));
        check(
            &nested(FILTER_DEPTH_MAX),
            expect![[r#"
                TypeId eq 2
                Building 1"#]],
        );
        check(
            &nested(FILTER_DEPTH_MAX + 1),
            expect![
                "error: $filter: at byte 32: nested deeper than the limit of 32 levels (each parenthesis, `not` and function call is a level)"
            ],
        );
        let nots = |depth: usize| format!("{}Disabled", "not ".repeat(depth));
        check(
            &nots(FILTER_DEPTH_MAX),
            expect![[r#"
                not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not …
                floor 2"#]],
        );
        check(
            &nots(FILTER_DEPTH_MAX + 1),
            expect![
                "error: $filter: at byte 128: nested deeper than the limit of 32 levels (each parenthesis, `not` and function call is a level)"
            ],
        );
        let calls = |depth: usize| format!("{}Name{} eq 'x'", "tolower(".repeat(depth), ")".repeat(depth));
        check(
            &calls(FILTER_DEPTH_MAX),
            expect![[r#"
                tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(tolower(…
                (none)"#]],
        );
        check(
            &calls(FILTER_DEPTH_MAX + 1),
            expect![
                "error: $filter: at byte 263: nested deeper than the limit of 32 levels (each parenthesis, `not` and function call is a level)"
            ],
        );
        // Nesting of all three kinds adds up.
        check(
            &format!("not ({})", calls(FILTER_DEPTH_MAX - 1)),
            expect![
                "error: $filter: at byte 252: nested deeper than the limit of 32 levels (each parenthesis, `not` and function call is a level)"
            ],
        );
        // Long chains of `and` and `or` do not nest, so they need no depth.
        let chain = vec!["TypeId eq 2"; 200].join(" or ");
        check(
            &chain,
            expect![[r#"
                (TypeId eq 2) or (TypeId eq 2) or (TypeId eq 2) or (TypeId eq 2) or (TypeId eq 2) or (TypeId eq 2) or (TypeId eq 2) or (…
                Building 1"#]],
        );
        // A huge text is refused before it is read.
        check(&"(".repeat(1_000_000), expect!["error: $filter is 1000000 characters long, over the limit of 4000"]);
    }

    #[test]
    fn query_options() {
        check_query(
            &[],
            expect![
                "(no options) Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"
            ],
        );
        // Names without `$` belong to the caller; unknown `$` names are ignored.
        check_query(
            &[("spaceId", "x"), ("top", "1"), ("$select", "Name")],
            expect![
                "(no options) Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"
            ],
        );
        check_query(&[("$FILTER", "TypeId eq 4"), ("$OrderBy", "Name")], expect!["Focus Room A1, Room 101"]);
        // The documented examples.
        check_query(&[("$top", "3"), ("$orderby", "Name desc")], expect!["Room 101, RefreshTime, Jan Kowalski"]);
        check_query(
            &[("$top", "4"), ("$filter", "endswith(LastName,'k')"), ("$orderby", "LastName")],
            expect!["Eva Novak"],
        );
        check_query(
            &[("$orderby", "Name desc"), ("$top", "3"), ("$filter", "substringof('Floor',Name)")],
            expect!["floor 2, Floor 1"],
        );
    }

    #[test]
    fn order_by() {
        // Ignoring case: `floor 2` sorts between `Floor 1` and `Focus Room A1`.
        check_query(
            &[("$orderby", "Name")],
            expect![
                "AreaInSqMeters, Building 1, Eva Novak, Floor 1, floor 2, Focus Room A1, Jan Kowalski, RefreshTime, Room 101"
            ],
        );
        check_query(
            &[("$orderby", "name ASC")],
            expect![
                "AreaInSqMeters, Building 1, Eva Novak, Floor 1, floor 2, Focus Room A1, Jan Kowalski, RefreshTime, Room 101"
            ],
        );
        // Missing and null first in `asc`, last in `desc`; equal keys keep their order.
        check_query(
            &[("$orderby", "Area")],
            expect![
                "Building 1, Floor 1, floor 2, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime, Room 101, Focus Room A1"
            ],
        );
        check_query(
            &[("$orderby", "Area desc")],
            expect![
                "Focus Room A1, Room 101, Building 1, Floor 1, floor 2, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"
            ],
        );
        // Kinds sort apart: null, then numbers, then strings (a number in a string is a string here).
        check_query(
            &[("$orderby", "TypeId")],
            expect![
                "Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime, Building 1, Floor 1, Room 101, Focus Room A1, floor 2"
            ],
        );
        check_query(
            &[("$orderby", "Disabled DESC")],
            expect![
                "floor 2, Floor 1, Building 1, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"
            ],
        );
        check_query(
            &[("$orderby", "Size desc, Name")],
            expect![
                "Focus Room A1, Room 101, Floor 1, floor 2, AreaInSqMeters, Building 1, Eva Novak, Jan Kowalski, RefreshTime"
            ],
        );
        check_query(
            &[("$orderby", "ParentSpaceId,Location/Latitude desc , name desc")],
            expect![
                "Building 1, RefreshTime, Jan Kowalski, Eva Novak, AreaInSqMeters, floor 2, Floor 1, Room 101, Focus Room A1"
            ],
        );
    }

    #[test]
    fn top_and_skip() {
        check_query(&[("$skip", "2"), ("$top", "2")], expect!["floor 2, Room 101"]);
        check_query(&[("$skip", "7")], expect!["AreaInSqMeters, RefreshTime"]);
        check_query(&[("$skip", "100")], expect!["(none)"]);
        check_query(&[("$top", "0")], expect!["(none)"]);
        check_query(
            &[("$top", "100")],
            expect![
                "Building 1, Floor 1, floor 2, Room 101, Focus Room A1, Jan Kowalski, Eva Novak, AreaInSqMeters, RefreshTime"
            ],
        );
        // Skip and top come after the filter and the order.
        check_query(
            &[("$top", "1"), ("$skip", "1"), ("$orderby", "Area desc"), ("$filter", "Area ne null")],
            expect!["Room 101"],
        );
    }

    #[test]
    fn query_errors() {
        check_query(
            &[("$count", "true")],
            expect!["error: $count is not supported; the management API supports $filter, $orderby, $top and $skip"],
        );
        check_query(
            &[("$Expand", "children")],
            expect!["error: $expand is not supported; the management API supports $filter, $orderby, $top and $skip"],
        );
        check_query(
            &[("$search", "floor")],
            expect!["error: $search is not supported; the management API supports $filter, $orderby, $top and $skip"],
        );
        check_query(&[("$top", "-1")], expect!["error: $top: expected a non-negative integer such as 10, found `-1`"]);
        check_query(
            &[("$top", "three")],
            expect!["error: $top: expected a non-negative integer such as 10, found `three`"],
        );
        check_query(&[("$top", "")], expect!["error: $top: expected a non-negative integer such as 10, found nothing"]);
        check_query(
            &[("$skip", "1.5")],
            expect!["error: $skip: expected a non-negative integer such as 10, found `1.5`"],
        );
        check_query(
            &[("$skip", " 1")],
            expect!["error: $skip: expected a non-negative integer such as 10, found ` 1`"],
        );
        check_query(
            &[("$top", "99999999999999999999999999")],
            expect!["error: $top: `99999999999999999999999999` is too large"],
        );
        check_query(
            &[("$top", "1"), ("$TOP", "2")],
            expect!["error: $top: given more than once; give each query option at most once"],
        );
        check_query(
            &[("$filter", "Name eq")],
            expect!["error: $filter: at byte 7: expected a value, found the end of $filter"],
        );
        check_query(
            &[("$orderby", "")],
            expect!["error: $orderby: at byte 0: expected a property path such as `Name`, found the end of $orderby"],
        );
        check_query(
            &[("$orderby", "Name sideways")],
            expect!["error: $orderby: at byte 5: expected `asc`, `desc`, `,` or the end of $orderby, found `sideways`"],
        );
        check_query(
            &[("$orderby", "Name,")],
            expect!["error: $orderby: at byte 5: expected a property path such as `Name`, found the end of $orderby"],
        );
        check_query(
            &[("$orderby", "'Name'")],
            expect!["error: $orderby: at byte 0: expected a property path such as `Name`, found `'Name'`"],
        );
        check_query(
            &[("$orderby", "tolower(Name)")],
            expect![
                "error: $orderby: at byte 7: $orderby takes property paths; ordering by a function is not supported"
            ],
        );
        check_query(
            &[("$orderby", "Location/")],
            expect!["error: $orderby: at byte 8: expected a property name after `/`"],
        );
        check_query(
            &[("$orderby", &"Name,".repeat(1_000))],
            expect!["error: $orderby is 5000 characters long, over the limit of 4000"],
        );
    }
}
