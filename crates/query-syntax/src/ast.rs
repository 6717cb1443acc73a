//! The syntax tree of one query, as the parser builds it and the printer prints it.
//!
//! It records what was written, normalised only where the language says two spellings mean the same
//! (keyword case, `STARTS_WITH` for `STARTSWITH`, parentheses that the tree shape already implies).
//! It does not resolve names: whether `T` in `T.x` is a collection alias or a property is the binder's question,
//! as are the rules the documentation states about whole queries (`SELECT *` only without JOIN, at most five JOINs,
//! at most ten hops, a relationship variable only on a single hop, a `$dtId` filter when JOIN or MATCH is used).

use std::fmt;

/// One complete query: `SELECT … FROM … [JOIN …]* [MATCH …] [WHERE …] [GROUP BY …] [ORDER BY …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Select,
    pub from: From,
    pub joins: Vec<Join>,
    pub pattern: Option<MatchPattern>,
    pub filter: Option<Expr>,
    /// Our extension; empty when absent.
    pub group_by: Vec<Expr>,
    /// Our extension; empty when absent.
    pub order_by: Vec<OrderItem>,
}

/// `SELECT [TOP(n)] (* | projection, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub top: Option<u64>,
    pub items: SelectItems,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItems {
    /// `SELECT *`.
    Star,
    /// A projection list; empty only after `TOP(n)`, as in the documented `SELECT TOP(5) FROM DIGITALTWINS`.
    /// ADT's `SELECT COUNT()` is a list with one `Aggregate::Count(CountArg::Empty)` projection.
    Projections(Vec<Projection>),
}

/// One projected column with its optional `AS` name.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub value: ProjectionValue,
    pub alias: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProjectionValue {
    /// A collection (`T`) or a property path (`T.name`, `Edge.prop1`).
    Path(Path),
    /// `COUNT()` (ADT) or one of our extensions `COUNT(*)`, `SUM(x)`, `AVG(x)`, `MIN(x)`, `MAX(x)`.
    Aggregate(Aggregate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    Count(CountArg),
    Sum(Path),
    Avg(Path),
    Min(Path),
    Max(Path),
}

/// The two spellings of a row count are kept apart so the printer gives back what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountArg {
    /// `COUNT()`, as ADT documents it.
    Empty,
    /// `COUNT(*)`.
    Star,
}

/// `FROM DIGITALTWINS [alias]` or `FROM RELATIONSHIPS [alias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    pub collection: Collection,
    pub alias: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    DigitalTwins,
    Relationships,
}

/// `JOIN target RELATED source.relationship [alias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub target: Name,
    pub source: Name,
    pub relationship: Name,
    /// Names the relationship itself, so its properties can be projected and filtered.
    pub alias: Option<Name>,
}

/// `MATCH (a)-[…]->(b)<-[…]-(c)`: a start node and at least one step.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchPattern {
    pub start: Node,
    pub steps: Vec<Step>,
}

/// `(variable)`, where the variable may be left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub variable: Option<Name>,
}

/// One relationship pattern and the node it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub relationship: RelationshipPattern,
    pub node: Node,
}

/// `-[variable:name|name*hops]->`, `<-[…]-` or `-[…]-`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipPattern {
    pub direction: Direction,
    pub variable: Option<Name>,
    /// Empty means any relationship name.
    pub names: Vec<Name>,
    /// `None` means the documented default of one hop.
    pub hops: Option<Hops>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `-[]->`: from the left node to the right one.
    Outgoing,
    /// `<-[]-`: from the right node to the left one.
    Incoming,
    /// `-[]-`: either way.
    Either,
}

/// Hop counts as written; per the documentation the lower bound of a range is exclusive and the upper inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hops {
    /// `*n`.
    Exactly(u32),
    /// `*n..m`, or `*..m` when `lower` is `None`.
    Range { lower: Option<u32>, upper: u32 },
}

/// A boolean or value expression of WHERE, GROUP BY and ORDER BY.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    Path(Path),
    /// `lhs op rhs` for `= != < > <= >=`.
    Compare {
        op: CompareOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `lhs AND rhs` or `lhs OR rhs`; chains nest to the left.
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Not(Box<Expr>),
    /// `value IN [...]`, or `value NIN [...]` when `negated`.
    In {
        value: Box<Expr>,
        negated: bool,
        list: Vec<Literal>,
    },
    /// `IS_OF_MODEL([collection,] 'dtmi' [, exact])`, kept apart because `exact` is not an expression.
    IsOfModel {
        collection: Option<Name>,
        model: String,
        exact: bool,
    },
    /// Any other function call; names of unknown functions are kept for the binder to check.
    Call {
        function: Function,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    And,
    Or,
}

/// A function name; the documented ones are variants, the rest are kept uppercased (function names are keywords,
/// so their case does not matter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Function {
    IsDefined,
    IsNull,
    IsBool,
    IsNumber,
    IsString,
    IsPrimitive,
    IsObject,
    /// `STARTSWITH`, also spelled `STARTS_WITH`.
    StartsWith,
    /// `ENDSWITH`, also spelled `ENDS_WITH`.
    EndsWith,
    Contains,
    ArrayContains,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    /// Always finite.
    Float(f64),
    Bool(bool),
    Null,
}

/// `a.b.c`: names separated by dots. The first segment may be a collection alias or a property; the binder decides.
/// Its `Debug` form is the path as the printer writes it, `Path(T.$metadata.$model)`, to keep snapshots short.
#[derive(Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<Name>,
}

/// A name as the query means it: `[[Group]]` and `Group` are the same name, and `$dtId` includes its `$`.
/// Names are case-sensitive. Only the parser makes them, so a `Name` is never empty and never contains `]]`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

/// `expr [ASC | DESC]`; ascending unless `descending`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
}

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn new(text: String) -> Name {
        debug_assert!(!text.is_empty() && !text.contains("]]"));
        Name(text)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({})", crate::print::path_text(self))
    }
}

impl Function {
    /// The canonical spelling, as the printer writes it.
    pub fn name(&self) -> &str {
        match self {
            Function::IsDefined => "IS_DEFINED",
            Function::IsNull => "IS_NULL",
            Function::IsBool => "IS_BOOL",
            Function::IsNumber => "IS_NUMBER",
            Function::IsString => "IS_STRING",
            Function::IsPrimitive => "IS_PRIMITIVE",
            Function::IsObject => "IS_OBJECT",
            Function::StartsWith => "STARTSWITH",
            Function::EndsWith => "ENDSWITH",
            Function::Contains => "CONTAINS",
            Function::ArrayContains => "ARRAY_CONTAINS",
            Function::Other(name) => name,
        }
    }

    /// The function a call name means, case-insensitively; unknown names become `Other`, uppercased.
    pub(crate) fn from_name(word: &str) -> Function {
        let upper = word.to_ascii_uppercase();
        match upper.as_str() {
            "IS_DEFINED" => Function::IsDefined,
            "IS_NULL" => Function::IsNull,
            "IS_BOOL" => Function::IsBool,
            "IS_NUMBER" => Function::IsNumber,
            "IS_STRING" => Function::IsString,
            "IS_PRIMITIVE" => Function::IsPrimitive,
            "IS_OBJECT" => Function::IsObject,
            "STARTSWITH" | "STARTS_WITH" => Function::StartsWith,
            "ENDSWITH" | "ENDS_WITH" => Function::EndsWith,
            "CONTAINS" => Function::Contains,
            "ARRAY_CONTAINS" => Function::ArrayContains,
            _ => Function::Other(upper),
        }
    }

    /// How many arguments a documented function takes; `None` for the ones the binder will check.
    pub(crate) fn arity(&self) -> Option<usize> {
        match self {
            Function::IsDefined
            | Function::IsNull
            | Function::IsBool
            | Function::IsNumber
            | Function::IsString
            | Function::IsPrimitive
            | Function::IsObject => Some(1),
            Function::StartsWith | Function::EndsWith | Function::Contains | Function::ArrayContains => Some(2),
            Function::Other(_) => None,
        }
    }
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "!=",
            CompareOp::Lt => "<",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Ge => ">=",
        }
    }
}
