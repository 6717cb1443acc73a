//! The parser: tokens in, a `Query` or the first `SyntaxError` out.
//!
//! Clauses are parsed by recursive descent and WHERE expressions by precedence levels (OR, AND, NOT, comparison).
//! It owns the keyword list, the case rules (keywords in any case, names as written) and the `Limits` checks.
//! It does not check names against a graph or the documented whole-query rules; the query engine's binder does.

use crate::Limits;
use crate::ast::{
    Aggregate, Collection, CompareOp, CountArg, Direction, Expr, From, Function, Hops, Join, Literal, LogicalOp,
    MatchPattern, Name, Node, OrderItem, Path, Projection, ProjectionValue, Query, RelationshipPattern, Select,
    SelectItems, Step,
};
use crate::error::{self, SyntaxError};
use crate::lex::{Token, TokenKind, tokenize};

/// Parses one query, checking `limits` as it goes.
pub(crate) fn parse_query(text: &str, limits: &Limits) -> Result<Query, SyntaxError> {
    // A text no longer in bytes than the limit is within it in characters; only a longer one is counted.
    if let Some((offset, _)) =
        (text.len() > limits.query_chars_max).then(|| text.char_indices().nth(limits.query_chars_max)).flatten()
    {
        let count = text.chars().count();
        return Err(SyntaxError::at(
            text,
            offset,
            error::QUERY_TOO_LONG,
            format!("the query is {count} characters long, more than the limit of {}", limits.query_chars_max),
        ));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser { text, tokens, pos: 0, limits, and_or: 0, depth: 0 };
    parser.query()
}

/// Words that are keywords wherever a keyword can stand, so a name spelled like one must be escaped as `[[word]]`.
/// This is ADT's published reserved list plus the clause words it leaves out (JOIN, RELATED, MATCH, the two
/// collections and NIN), which must be reserved too or `FROM DIGITALTWINS MATCH …` would read MATCH as an alias.
pub(crate) fn is_reserved(word: &str) -> bool {
    matches!(
        upper(word).as_ref().map(|(buf, len)| &buf[..*len]),
        Some(
            b"ALL"
                | b"AND"
                | b"AS"
                | b"ASC"
                | b"AVG"
                | b"BY"
                | b"COUNT"
                | b"DESC"
                | b"DEVICES_JOBS"
                | b"DEVICES_MODULES"
                | b"DEVICES"
                | b"ENDS_WITH"
                | b"FALSE"
                | b"FROM"
                | b"GROUP"
                | b"IN"
                | b"IS_BOOL"
                | b"IS_DEFINED"
                | b"IS_NULL"
                | b"IS_NUMBER"
                | b"IS_OBJECT"
                | b"IS_PRIMITIVE"
                | b"IS_STRING"
                | b"MAX"
                | b"MIN"
                | b"NOT"
                | b"NOT_IN"
                | b"NULL"
                | b"OR"
                | b"ORDER"
                | b"SELECT"
                | b"STARTS_WITH"
                | b"SUM"
                | b"TOP"
                | b"TRUE"
                | b"WHERE"
                | b"IS_OF_MODEL"
                | b"JOIN"
                | b"RELATED"
                | b"MATCH"
                | b"DIGITALTWINS"
                | b"RELATIONSHIPS"
                | b"NIN"
        )
    )
}

/// Reserved words that may still name a function when a `(` follows.
fn is_reserved_function(word: &str) -> bool {
    matches!(
        upper(word).as_ref().map(|(buf, len)| &buf[..*len]),
        Some(
            b"IS_OF_MODEL"
                | b"IS_DEFINED"
                | b"IS_NULL"
                | b"IS_BOOL"
                | b"IS_NUMBER"
                | b"IS_STRING"
                | b"IS_PRIMITIVE"
                | b"IS_OBJECT"
                | b"STARTS_WITH"
                | b"ENDS_WITH"
        )
    )
}

/// A short word in ASCII upper case, on the stack (no keyword is longer than 16 bytes; longer words are none).
fn upper(word: &str) -> Option<([u8; 16], usize)> {
    let mut buf = [0u8; 16];
    if word.len() > buf.len() {
        return None;
    }
    for (b, c) in buf.iter_mut().zip(word.bytes()) {
        *b = c.to_ascii_uppercase();
    }
    Some((buf, word.len()))
}

/// The clauses after SELECT, in the order they must appear.
const CLAUSES: &[&str] = &["FROM", "JOIN", "MATCH", "WHERE", "GROUP BY", "ORDER BY"];

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    limits: &'a Limits,
    /// AND/OR operators seen so far, checked against `Limits::and_or_max`.
    and_or: usize,
    /// Current nesting of parentheses, NOT and call arguments, checked against `Limits::depth_max`.
    depth: usize,
}

type Parsed<T> = Result<T, SyntaxError>;

impl<'a> Parser<'a> {
    fn query(&mut self) -> Parsed<Query> {
        let select = self.select()?;
        let after = match (&select.items, select.top) {
            (SelectItems::Star, _) => "after SELECT *",
            (SelectItems::Projections(p), Some(_)) if p.is_empty() => "after TOP(n)",
            _ => "after the projection list",
        };
        self.expect_keyword("FROM", after)?;
        let from = self.from()?;
        let mut clause = 0;
        let mut joins = Vec::new();
        while self.eat_keyword("JOIN") {
            clause = 1;
            joins.push(self.join()?);
        }
        let mut pattern = None;
        if self.eat_keyword("MATCH") {
            clause = 2;
            pattern = Some(self.pattern()?);
        }
        let mut filter = None;
        if self.eat_keyword("WHERE") {
            clause = 3;
            filter = Some(self.expr()?);
        }
        let mut group_by = Vec::new();
        if self.at_keyword("GROUP") {
            clause = 4;
            self.bump();
            self.expect_keyword("BY", "after GROUP")?;
            group_by = self.list(Parser::expr)?;
        }
        let mut order_by = Vec::new();
        if self.at_keyword("ORDER") {
            clause = 5;
            self.bump();
            self.expect_keyword("BY", "after ORDER")?;
            order_by = self.list(Parser::order_item)?;
        }
        self.end(clause)?;
        Ok(Query { select, from, joins, pattern, filter, group_by, order_by })
    }

    /// Checks that nothing follows the last clause, naming the clause-order rule when a clause comes too late.
    fn end(&mut self, clause: usize) -> Parsed<()> {
        if self.peek().kind == TokenKind::Eof {
            return Ok(());
        }
        let word = self.word().map(str::to_ascii_uppercase);
        let found = word.as_deref().and_then(|w| CLAUSES.iter().position(|c| c.split(' ').next() == Some(w)));
        if let Some(index) = found {
            let message = if index == clause {
                format!("only one {} clause is allowed in a query", CLAUSES[index])
            } else {
                format!("{} must come before {}", CLAUSES[index], CLAUSES[clause])
            };
            return Err(self.error_here(error::CLAUSE_ORDER, message));
        }
        if word.as_deref() == Some("SELECT") {
            return Err(
                self.error_here(error::TRAILING_INPUT, "only one query is allowed; send each SELECT on its own")
            );
        }
        let message = format!(
            "expected {} or the end of the query after {}, found {}",
            CLAUSES[clause + 1..].join(", "),
            CLAUSES[clause],
            self.found()
        );
        Err(self.error_here(error::TRAILING_INPUT, message))
    }

    fn select(&mut self) -> Parsed<Select> {
        self.expect_keyword("SELECT", "at the start of the query")?;
        let mut top = None;
        if self.eat_keyword("TOP") {
            self.expect(&TokenKind::LParen, "'('", "after TOP")?;
            let token = self.bump();
            match token.kind {
                TokenKind::Int(n) if n >= 0 => top = Some(n.unsigned_abs()),
                _ => {
                    return Err(self.error_at(
                        &token,
                        error::UNEXPECTED,
                        "TOP takes a whole number of rows, as in TOP(5)",
                    ));
                }
            }
            self.expect(&TokenKind::RParen, "')'", "after the TOP row count")?;
        }
        let items = if self.eat(&TokenKind::Star) {
            SelectItems::Star
        } else if top.is_some() && self.at_keyword("FROM") {
            SelectItems::Projections(Vec::new())
        } else {
            SelectItems::Projections(self.list(Parser::projection)?)
        };
        Ok(Select { top, items })
    }

    fn projection(&mut self) -> Parsed<Projection> {
        let aggregate = ["COUNT", "SUM", "AVG", "MIN", "MAX"]
            .into_iter()
            .find(|a| self.at_keyword(a) && self.nth(1).kind == TokenKind::LParen);
        let value = match aggregate {
            Some(name) => ProjectionValue::Aggregate(self.aggregate(name)?),
            None => ProjectionValue::Path(
                self.path("in the projection list; write *, COUNT(), a collection or a property path")?,
            ),
        };
        let alias = if self.eat_keyword("AS") { Some(self.any_name("after AS")?) } else { None };
        Ok(Projection { value, alias })
    }

    fn aggregate(&mut self, name: &str) -> Parsed<Aggregate> {
        self.bump();
        self.bump();
        let aggregate = if name == "COUNT" {
            let arg = if self.eat(&TokenKind::Star) { CountArg::Star } else { CountArg::Empty };
            if self.peek().kind != TokenKind::RParen {
                return Err(self.error_here(
                    error::BAD_ARGUMENTS,
                    format!(
                        "COUNT counts rows and takes no argument: write COUNT() or COUNT(*), found {}",
                        self.found()
                    ),
                ));
            }
            Aggregate::Count(arg)
        } else {
            let path = self.path(&format!("as the argument of {name}"))?;
            match name {
                "SUM" => Aggregate::Sum(path),
                "AVG" => Aggregate::Avg(path),
                "MIN" => Aggregate::Min(path),
                _ => Aggregate::Max(path),
            }
        };
        self.expect(&TokenKind::RParen, "')'", &format!("to close {name}("))?;
        Ok(aggregate)
    }

    fn from(&mut self) -> Parsed<From> {
        let collection = if self.eat_keyword("DIGITALTWINS") {
            Collection::DigitalTwins
        } else if self.eat_keyword("RELATIONSHIPS") {
            Collection::Relationships
        } else {
            let hint =
                if self.peek().kind == TokenKind::LParen { "; subqueries in FROM are not supported" } else { "" };
            let message = format!("expected DIGITALTWINS or RELATIONSHIPS after FROM, found {}{hint}", self.found());
            return Err(self.error_here(error::UNEXPECTED, message));
        };
        let alias = if self.at_name() { Some(self.name("")?) } else { None };
        Ok(From { collection, alias })
    }

    fn join(&mut self) -> Parsed<Join> {
        let target = self.name("after JOIN, naming the joined twins")?;
        self.expect_keyword("RELATED", "after the JOIN target, as in JOIN CT RELATED T.contains")?;
        let source = self.name("after RELATED, naming the twins the relationship starts from")?;
        self.expect(&TokenKind::Dot, "'.'", "and a relationship name after the source, as in T.contains")?;
        let relationship = self.any_name("after '.' in JOIN, naming the relationship")?;
        let alias = if self.at_name() { Some(self.name("")?) } else { None };
        Ok(Join { target, source, relationship, alias })
    }

    fn pattern(&mut self) -> Parsed<MatchPattern> {
        let start = self.node()?;
        let mut steps = Vec::new();
        while matches!(self.peek().kind, TokenKind::Minus | TokenKind::Lt) {
            let relationship = self.relationship_pattern()?;
            let node = self.node()?;
            steps.push(Step { relationship, node });
        }
        if steps.is_empty() {
            let message = format!(
                "expected a relationship pattern after the first MATCH node, as in (a)-[]->(b), found {}",
                self.found()
            );
            return Err(self.error_here(error::UNEXPECTED, message));
        }
        Ok(MatchPattern { start, steps })
    }

    fn node(&mut self) -> Parsed<Node> {
        self.expect(&TokenKind::LParen, "'('", "to open a MATCH node, as in (Building)")?;
        let variable = if self.at_name() { Some(self.name("")?) } else { None };
        let context = match &variable {
            Some(v) => format!("to close the MATCH node ({}", v.as_str()),
            None => "to close the MATCH node".to_owned(),
        };
        self.expect(&TokenKind::RParen, "')'", &context)?;
        Ok(Node { variable })
    }

    fn relationship_pattern(&mut self) -> Parsed<RelationshipPattern> {
        let incoming = self.eat(&TokenKind::Lt);
        self.expect(&TokenKind::Minus, "'-'", "after '<' in a relationship pattern, as in <-[]-")?;
        self.expect(&TokenKind::LBracket, "'['", "in a relationship pattern, as in -[]->")?;
        let variable = if self.at_name() { Some(self.name("")?) } else { None };
        let mut names = Vec::new();
        if self.eat(&TokenKind::Colon) {
            names.push(self.any_name("after ':' in a relationship pattern")?);
            while self.eat(&TokenKind::Pipe) {
                names.push(self.any_name("after '|' in a relationship pattern")?);
            }
        }
        let hops = if self.eat(&TokenKind::Star) { Some(self.hops()?) } else { None };
        if self.peek().kind == TokenKind::Pipe && names.is_empty() {
            return Err(self.error_here(
                error::UNEXPECTED,
                "relationship names follow a colon, as in [:contains|isAssociatedWith]; a name before the colon is a variable",
            ));
        }
        self.expect(&TokenKind::RBracket, "']'", "to close the relationship pattern")?;
        let direction = if incoming {
            if self.peek().kind == TokenKind::Arrow {
                return Err(self.error_here(
                    error::UNEXPECTED,
                    "a relationship pattern cannot point both ways; use -[]- for either direction",
                ));
            }
            self.expect(&TokenKind::Minus, "'-'", "after ']' in <-[]-")?;
            Direction::Incoming
        } else if self.eat(&TokenKind::Arrow) {
            Direction::Outgoing
        } else {
            self.expect(&TokenKind::Minus, "'->' or '-'", "after ']' in a relationship pattern")?;
            Direction::Either
        };
        Ok(RelationshipPattern { direction, variable, names, hops })
    }

    fn hops(&mut self) -> Parsed<Hops> {
        let start = self.peek().start;
        let hops = if self.eat(&TokenKind::DotDot) {
            Hops::Range { lower: None, upper: self.hop_count()? }
        } else {
            let lower = self.hop_count()?;
            if self.eat(&TokenKind::DotDot) {
                Hops::Range { lower: Some(lower), upper: self.hop_count()? }
            } else {
                Hops::Exactly(lower)
            }
        };
        let problem = match hops {
            Hops::Exactly(0) | Hops::Range { upper: 0, .. } => {
                Some("zero hops match nothing; use at least *1, or leave the hop count out for one hop".to_owned())
            }
            Hops::Range { lower: Some(lower), upper } if lower >= upper => Some(format!(
                "*{lower}..{upper} selects no hop count: the lower bound is exclusive, so it must be below the upper bound (*1..3 means 2 or 3 hops)"
            )),
            _ => None,
        };
        match problem {
            Some(message) => Err(SyntaxError::at(self.text, start, error::BAD_HOPS, message)),
            None => Ok(hops),
        }
    }

    fn hop_count(&mut self) -> Parsed<u32> {
        let token = self.bump();
        match token.kind {
            TokenKind::Int(n) => u32::try_from(n).map_err(|_| {
                self.error_at(&token, error::BAD_HOPS, "a hop count is a whole number from 1 up, as in *3 or *1..3")
            }),
            _ => Err(self.error_at(
                &token,
                error::BAD_HOPS,
                format!("expected a hop count after '*', as in *3, *1..3 or *..2, found {}", self.describe(&token)),
            )),
        }
    }

    fn order_item(&mut self) -> Parsed<OrderItem> {
        let expr = self.expr()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        Ok(OrderItem { expr, descending })
    }

    fn expr(&mut self) -> Parsed<Expr> {
        let mut lhs = self.and()?;
        while self.at_keyword("OR") {
            self.count_and_or()?;
            let rhs = self.and()?;
            lhs = Expr::Logical { op: LogicalOp::Or, lhs: Box::new(lhs), rhs: Box::new(rhs) };
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Parsed<Expr> {
        let mut lhs = self.not()?;
        while self.at_keyword("AND") {
            self.count_and_or()?;
            let rhs = self.not()?;
            lhs = Expr::Logical { op: LogicalOp::And, lhs: Box::new(lhs), rhs: Box::new(rhs) };
        }
        Ok(lhs)
    }

    fn count_and_or(&mut self) -> Parsed<()> {
        self.and_or += 1;
        if self.and_or > self.limits.and_or_max {
            let message = format!("the query has more than {} AND/OR operators", self.limits.and_or_max);
            return Err(self.error_here(error::TOO_MANY_AND_OR, message));
        }
        self.bump();
        Ok(())
    }

    fn not(&mut self) -> Parsed<Expr> {
        if self.at_keyword("NOT") {
            self.enter()?;
            self.bump();
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Parsed<Expr> {
        let lhs = self.primary()?;
        let op = match self.peek().kind {
            TokenKind::Eq => Some(CompareOp::Eq),
            TokenKind::NotEq => Some(CompareOp::NotEq),
            TokenKind::Lt => Some(CompareOp::Lt),
            TokenKind::Gt => Some(CompareOp::Gt),
            TokenKind::Le => Some(CompareOp::Le),
            TokenKind::Ge => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.primary()?;
            return Ok(Expr::Compare { op, lhs: Box::new(lhs), rhs: Box::new(rhs) });
        }
        let negated = if self.eat_keyword("IN") {
            false
        } else if self.eat_keyword("NIN") || self.eat_keyword("NOT_IN") {
            true
        } else if self.at_keyword("NOT") && self.word_at(1).is_some_and(|w| w.eq_ignore_ascii_case("IN")) {
            self.bump();
            self.bump();
            true
        } else {
            return Ok(lhs);
        };
        let list = self.in_list()?;
        Ok(Expr::In { value: Box::new(lhs), negated, list })
    }

    fn in_list(&mut self) -> Parsed<Vec<Literal>> {
        self.expect(&TokenKind::LBracket, "'['", "after IN, as in IN ['a', 'b']")?;
        let mut list = Vec::new();
        loop {
            if list.len() == self.limits.in_items_max {
                let message = format!("an IN list may hold at most {} items", self.limits.in_items_max);
                return Err(self.error_here(error::TOO_MANY_IN_ITEMS, message));
            }
            match self.literal() {
                Some(literal) => list.push(literal),
                None => {
                    let message = format!(
                        "expected a string, number, TRUE, FALSE or NULL in the IN list, found {}",
                        self.found()
                    );
                    return Err(self.error_here(error::UNEXPECTED, message));
                }
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RBracket, "']' or ','", "in the IN list")?;
        Ok(list)
    }

    fn primary(&mut self) -> Parsed<Expr> {
        if let Some(literal) = self.literal() {
            return Ok(Expr::Literal(literal));
        }
        if self.peek().kind == TokenKind::LParen {
            self.enter()?;
            let open = self.bump();
            let inner = self.expr()?;
            self.depth -= 1;
            if self.peek().kind != TokenKind::RParen {
                let (line, column) = {
                    let e = self.error_at(&open, error::UNEXPECTED, "");
                    (e.line, e.column)
                };
                let message =
                    format!("expected ')' to close the '(' at line {line}, column {column}, found {}", self.found());
                return Err(self.error_here(error::UNEXPECTED, message));
            }
            self.bump();
            return Ok(inner);
        }
        if let Some(word) = self.word()
            && self.nth(1).kind == TokenKind::LParen
            && (!is_reserved(word) || is_reserved_function(word))
        {
            return self.call(word);
        }
        if self.at_name() || self.word().is_some() {
            // A keyword where a value belongs is most likely a property spelled like one; `name` says how to escape it.
            return Ok(Expr::Path(self.path("")?));
        }
        let message = format!("expected a value, a property path or a function call, found {}", self.found());
        Err(self.error_here(error::UNEXPECTED, message))
    }

    fn call(&mut self, word: &str) -> Parsed<Expr> {
        self.enter()?;
        let name_token = self.bump();
        self.bump();
        let expr = if word.eq_ignore_ascii_case("IS_OF_MODEL") {
            self.is_of_model()?
        } else {
            let function = Function::from_name(word);
            let mut args = Vec::new();
            if self.peek().kind != TokenKind::RParen {
                args = self.list(Parser::expr)?;
            }
            self.expect(&TokenKind::RParen, "')' or ','", &format!("in the arguments of {}", function.name()))?;
            if let Some(arity) = function.arity()
                && arity != args.len()
            {
                let s = if arity == 1 { "" } else { "s" };
                let message = format!("{} takes {arity} argument{s}, found {}", function.name(), args.len());
                return Err(self.error_at(&name_token, error::BAD_ARGUMENTS, message));
            }
            Expr::Call { function, args }
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn is_of_model(&mut self) -> Parsed<Expr> {
        const USAGE: &str = "IS_OF_MODEL takes an optional collection, a model id string and an optional exact, as in IS_OF_MODEL(T, 'dtmi:example:thing;1', exact)";
        let collection = if self.at_name() {
            let name = self.name("")?;
            self.expect(&TokenKind::Comma, "','", "after the collection in IS_OF_MODEL")?;
            Some(name)
        } else {
            None
        };
        let token = self.bump();
        let TokenKind::Str(model) = token.kind.clone() else {
            return Err(self.error_at(
                &token,
                error::BAD_ARGUMENTS,
                format!("{USAGE}; found {}", self.describe(&token)),
            ));
        };
        let exact = if self.eat(&TokenKind::Comma) {
            if !self.eat_keyword("EXACT") {
                return Err(self.error_here(error::BAD_ARGUMENTS, format!("{USAGE}; found {}", self.found())));
            }
            true
        } else {
            false
        };
        self.expect(&TokenKind::RParen, "')'", "to close IS_OF_MODEL(")?;
        Ok(Expr::IsOfModel { collection, model, exact })
    }

    fn literal(&mut self) -> Option<Literal> {
        let word = self.word();
        let literal = match &self.peek().kind {
            TokenKind::Str(s) => Literal::Str(s.clone()),
            TokenKind::Int(n) => Literal::Int(*n),
            TokenKind::Float(f) => Literal::Float(*f),
            TokenKind::Word if word.is_some_and(|w| w.eq_ignore_ascii_case("TRUE")) => Literal::Bool(true),
            TokenKind::Word if word.is_some_and(|w| w.eq_ignore_ascii_case("FALSE")) => Literal::Bool(false),
            TokenKind::Word if word.is_some_and(|w| w.eq_ignore_ascii_case("NULL")) => Literal::Null,
            _ => return None,
        };
        self.bump();
        Some(literal)
    }

    /// `name { . name }`: the first segment must not be a keyword, later ones may be (the dot makes them names).
    fn path(&mut self, context: &str) -> Parsed<Path> {
        let mut segments = vec![self.name(context)?];
        while self.eat(&TokenKind::Dot) {
            segments.push(self.any_name("after '.' in a property path")?);
        }
        Ok(Path { segments })
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Parsed<T>) -> Parsed<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.eat(&TokenKind::Comma) {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > self.limits.depth_max {
            let message = format!("the expression nests deeper than {} levels", self.limits.depth_max);
            return Err(self.error_here(error::TOO_DEEP, message));
        }
        Ok(())
    }

    /// Whether the current token can be a name in a position where keywords are not names.
    fn at_name(&self) -> bool {
        match &self.peek().kind {
            TokenKind::Escaped(_) => true,
            TokenKind::Word => self.word().is_some_and(|w| !is_reserved(w)),
            _ => false,
        }
    }

    /// A name where a keyword could also stand, so keywords must be escaped.
    fn name(&mut self, context: &str) -> Parsed<Name> {
        if self.at_name() {
            return self.any_name(context);
        }
        let message = match self.word() {
            Some(w) => format!("'{w}' is a keyword; to use it as a name, escape it as [[{w}]]"),
            None if context.is_empty() => format!("expected a name, found {}", self.found()),
            None => format!("expected a name {context}, found {}", self.found()),
        };
        Err(self.error_here(error::UNEXPECTED, message))
    }

    /// A name where no keyword can stand (after '.', ':', '|' or AS), so keywords are read as names.
    fn any_name(&mut self, context: &str) -> Parsed<Name> {
        match &self.peek().kind {
            TokenKind::Word | TokenKind::Escaped(_) => {
                let text = match &self.peek().kind {
                    TokenKind::Escaped(w) => w.clone(),
                    _ => self.word().expect("the token is a word").to_owned(),
                };
                self.bump();
                Ok(Name::new(text))
            }
            _ => {
                let message = format!("expected a name {context}, found {}", self.found());
                Err(self.error_here(error::UNEXPECTED, message))
            }
        }
    }

    fn peek(&self) -> &Token {
        self.nth(0)
    }

    fn nth(&self, n: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if &self.peek().kind == kind {
            self.bump();
            return true;
        }
        false
    }

    fn expect(&mut self, kind: &TokenKind, what: &str, context: &str) -> Parsed<Token> {
        if &self.peek().kind == kind {
            return Ok(self.bump());
        }
        let message = format!("expected {what} {context}, found {}", self.found());
        Err(self.error_here(error::UNEXPECTED, message))
    }

    /// The current token as an unescaped word, if it is one.
    fn word(&self) -> Option<&'a str> {
        self.word_at(0)
    }

    /// The `n`th token from the current one as an unescaped word, if it is one: its span of the text.
    fn word_at(&self, n: usize) -> Option<&'a str> {
        let token = self.nth(n);
        (token.kind == TokenKind::Word).then(|| &self.text[token.start..token.end])
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.word().is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if self.at_keyword(keyword) {
            self.bump();
            return true;
        }
        false
    }

    fn expect_keyword(&mut self, keyword: &str, context: &str) -> Parsed<()> {
        if self.eat_keyword(keyword) {
            return Ok(());
        }
        let message = format!("expected {keyword} {context}, found {}", self.found());
        Err(self.error_here(error::UNEXPECTED, message))
    }

    fn found(&self) -> String {
        self.describe(self.peek())
    }

    fn describe(&self, token: &Token) -> String {
        match token.kind {
            TokenKind::Eof => "the end of the query".to_owned(),
            _ => format!("'{}'", &self.text[token.start..token.end]),
        }
    }

    fn error_here(&self, code: &'static str, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.peek(), code, message)
    }

    fn error_at(&self, token: &Token, code: &'static str, message: impl Into<String>) -> SyntaxError {
        SyntaxError::at(self.text, token.start, code, message)
    }
}
